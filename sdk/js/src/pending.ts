import { Timer, type Clock } from "./clock.js";
import { MomentumError } from "./types.js";

export type RequestKind = "send" | "publish" | "join" | "leave" | "auth" | "resume";

/** A request waiting for the server's answer (`ack` or `error` with its `ref_id`). */
export interface Pending {
  kind: RequestKind;
  /** the frame, rebuilt for every (re)send: a join resumes from the room's offset then */
  frame: () => string;
  /** sent again on the next connection until answered: sends and publishes are idempotent
   * by their reference, joins are answered by the room's resumption */
  replay: boolean;
  roomId?: string;
  resolve: (data: Record<string, unknown>) => void;
  reject: (error: MomentumError) => void;
}

/** The requests waiting for an answer, by reference, each with its timeout. */
export class PendingRequests {
  private readonly waiting = new Map<string, { request: Pending; timer: Timer }>();

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.waiting.size;
  }

  add(ref: string, request: Pending, timeout: number): void {
    const timer = new Timer(this.clock);
    this.waiting.set(ref, { request, timer });
    timer.start(timeout, () =>
      this.fail(ref, new MomentumError("timeout", `no answer within ${timeout} ms`)),
    );
  }

  get(ref: string): Pending | undefined {
    return this.waiting.get(ref)?.request;
  }

  /** The requests to send again on a new connection, oldest first. */
  replays(): Array<[string, Pending]> {
    return [...this.waiting]
      .filter(([, w]) => w.request.replay)
      .map(([ref, w]) => [ref, w.request]);
  }

  /** Drop the requests a lost connection leaves unanswerable (`replay` false). */
  dropUnanswerable(): void {
    for (const [ref, w] of [...this.waiting]) {
      if (!w.request.replay) this.fail(ref, new MomentumError("closed", "the connection closed"));
    }
  }

  succeed(ref: string, data: Record<string, unknown>): void {
    this.take(ref)?.resolve(data);
  }

  fail(ref: string, error: MomentumError): void {
    this.take(ref)?.reject(error);
  }

  failAll(error: MomentumError): void {
    for (const ref of [...this.waiting.keys()]) this.fail(ref, error);
  }

  private take(ref: string): Pending | undefined {
    const entry = this.waiting.get(ref);
    if (entry === undefined) return undefined;
    entry.timer.cancel();
    this.waiting.delete(ref);
    return entry.request;
  }
}
