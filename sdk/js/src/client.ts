import { AckBatcher } from "./acks.js";
import { Backoff } from "./backoff.js";
import { systemClock, Timer, type Clock } from "./clock.js";
import { SeenIds } from "./dedupe.js";
import { Emitter } from "./emitter.js";
import { newReference } from "./ids.js";
import { PendingRequests, type Pending } from "./pending.js";
import { RoomBook, type RoomStatus } from "./rooms.js";
import { globalSocket, offers, OPEN, type SocketFactory, type SocketLike } from "./socket.js";
import { TokenKeeper } from "./tokens.js";
import type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  PublishResult,
  SendResult,
  StateChange,
} from "./options.js";
import {
  CloseCode,
  MomentumError,
  type ContentType,
  type Envelope,
  type ErrorCode,
} from "./types.js";

type Data = Record<string, unknown>;

/** A message's type (`text` by default) and how long to wait for its `ack`. */
export interface MessageOptions {
  type?: ContentType;
  timeout?: number;
}

/** One user's connection to Momentum, reconnecting until told to stop. */
export class MomentumClient extends Emitter<ClientEvents> {
  private readonly options: ClientOptions;
  private readonly clock: Clock;
  private readonly backoff: Backoff;
  private readonly pending: PendingRequests;
  private readonly acks: AckBatcher;
  private readonly seen: SeenIds;
  private readonly book = new RoomBook();
  private readonly retry: Timer;
  private readonly refresh: Timer;
  private readonly attempt: Timer;
  private readonly tokens: TokenKeeper;
  private socket: SocketLike | undefined;
  private current: ConnectionState = "disconnected";
  private stopped = true;

  constructor(options: ClientOptions) {
    super();
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.backoff = new Backoff(options.reconnect, options.random);
    this.pending = new PendingRequests(this.clock);
    this.acks = new AckBatcher(
      this.clock,
      (ids) => this.write({ message_type: "ack", data: { ids } }),
      options.ackDelay,
      options.ackBatch,
    );
    this.seen = new SeenIds(options.dedupeSize);
    this.retry = new Timer(this.clock);
    this.refresh = new Timer(this.clock);
    this.attempt = new Timer(this.clock);
    this.tokens = new TokenKeeper(
      options.token,
      options.getToken,
      this.clock,
      options.refreshMargin ?? 60_000,
    );
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The rooms joined, with the last offset received in each. */
  get rooms(): Map<string, number | undefined> {
    return new Map(this.book.rooms.map((id) => [id, this.book.offset(id)]));
  }

  /** Start connecting (and reconnecting after drops) until `disconnect`. */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.open();
  }

  /** Close and stop reconnecting; requests waiting are rejected with `closed`. */
  disconnect(): void {
    this.stopped = true;
    this.retry.cancel();
    this.refresh.cancel();
    this.attempt.cancel();
    this.acks.flush();
    this.acks.stop();
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(CloseCode.NORMAL, "client disconnect");
    this.pending.failAll(new MomentumError("closed", "the client disconnected"));
    this.setState({ state: "disconnected", reason: "client" });
  }

  /** A direct message; resolves once the server has stored it. */
  send(to: string, data: Data, options: MessageOptions = {}): Promise<SendResult> {
    const ref = newReference();
    const frame = JSON.stringify({
      id: ref,
      message_type: options.type ?? "text",
      to_user_id: to,
      data,
    });
    return this.request(
      ref,
      { kind: "send", frame: () => frame, replay: true },
      options.timeout,
    ).then((ack) => {
      if (ack.stored !== true)
        throw new MomentumError("not_stored", "the server did not store the message");
      return { messageId: String(ack.message_id), delivered: Number(ack.delivered) };
    });
  }

  /** Subscribe to a room, from `offset` if given (what came after it is sent first). */
  join(roomId: string, offset?: number): Promise<RoomStatus> {
    this.book.join(roomId, offset);
    const ref = newReference();
    const frame = () => {
      const data: Data = { room_id: roomId };
      const at = this.book.offset(roomId);
      if (at !== undefined) data.offset = at;
      return JSON.stringify({ id: ref, message_type: "room_subscribe", data });
    };
    return this.request(ref, { kind: "join", frame, replay: true, roomId }).then((ack) => {
      const status = roomStatuses(ack).find((s) => s.roomId === roomId);
      if (status === undefined)
        throw new MomentumError("bad_response", "the ack does not list the room");
      return status;
    });
  }

  /** Unsubscribe from a room. */
  async leave(roomId: string): Promise<void> {
    this.book.leave(roomId);
    const ref = newReference();
    const frame = JSON.stringify({
      id: ref,
      message_type: "room_unsubscribe",
      data: { room_id: roomId },
    });
    if (this.current !== "connected") return; // a new connection does not subscribe to it
    await this.request(ref, { kind: "leave", frame: () => frame, replay: false });
  }

  /** A message to a room the client joined; resolves with its offset once stored. */
  publish(roomId: string, data: Data, options: MessageOptions = {}): Promise<PublishResult> {
    const ref = newReference();
    const body = { room_id: roomId, message_type: options.type ?? "text", data };
    const frame = JSON.stringify({ id: ref, message_type: "room_publish", data: body });
    return this.request(
      ref,
      { kind: "publish", frame: () => frame, replay: true },
      options.timeout,
    ).then((ack) => ({
      messageId: String(ack.message_id),
      roomId: String(ack.room_id),
      offset: Number(ack.offset),
    }));
  }

  /** Fetch a token now and hand it to the server (normally done before expiry by itself). */
  async refreshToken(): Promise<void> {
    const token = await this.tokens.fresh();
    if (this.current !== "connected") return;
    const ref = newReference();
    const frame = JSON.stringify({ id: ref, message_type: "auth", data: { token } });
    const ack = await this.request(ref, { kind: "auth", frame: () => frame, replay: false });
    const expiresAt = Date.parse(String(ack.expires_at));
    this.tokens.expiresAt = expiresAt;
    this.scheduleRefresh();
    this.emit("token", { expiresAt });
  }

  // -- connection -------------------------------------------------------------------------

  private async open(): Promise<void> {
    this.setState({ state: "connecting" });
    let token: string;
    try {
      token = this.tokens.usable() ?? (await this.tokens.fresh());
    } catch (error) {
      this.emit("error", asError(error, "token_invalid"));
      this.scheduleRetry({ state: "connecting", reason: "token_unavailable" });
      return;
    }
    if (this.stopped) return;
    const socket = (this.options.socket ?? globalSocket)(this.options.url, offers(token));
    this.socket = socket;
    socket.onopen = () => socket === this.socket && this.opened();
    socket.onmessage = (event) => socket === this.socket && this.receive(event.data);
    socket.onclose = (event) => socket === this.socket && this.closed(event.code);
    socket.onerror = () => undefined; // a close event follows
    this.attempt.start(this.options.connectTimeout ?? 10_000, () => {
      if (socket !== this.socket || socket.readyState === OPEN) return;
      socket.close(); // a server that takes the TCP connection and never answers
      this.closed(CloseCode.ABNORMAL);
    });
  }

  private opened(): void {
    this.attempt.cancel();
    this.backoff.reset();
    this.setState({ state: "connected" });
    const replays = this.pending.replays();
    const joining = new Set(replays.filter(([, p]) => p.kind === "join").map(([, p]) => p.roomId));
    const resume = this.book.resume();
    if (resume !== undefined) {
      resume.room_ids = resume.room_ids.filter((id) => !joining.has(id));
      if (resume.room_ids.length > 0) this.resume(resume);
    }
    for (const [, request] of replays) this.writeText(request.frame());
    this.acks.flush();
    this.scheduleRefresh();
  }

  private resume(data: { room_ids: string[]; offsets: Record<string, number> }): void {
    const ref = newReference();
    const frame = JSON.stringify({ id: ref, message_type: "room_subscribe", data });
    this.request(ref, { kind: "resume", frame: () => frame, replay: false }).catch(() => undefined);
  }

  private closed(code: number): void {
    this.socket = undefined;
    this.attempt.cancel();
    this.refresh.cancel();
    this.pending.dropUnanswerable();
    if (this.stopped) return;
    if (code === CloseCode.USER_DISABLED)
      return this.stop({ state: "disconnected", reason: "user_disabled", code });
    if (code === CloseCode.TOKEN_EXPIRED) {
      if (!this.tokens.canRefresh)
        return this.stop({ state: "disconnected", reason: "token_expired", code });
      this.tokens.drop(); // expired or revoked: the next attempt fetches a new one
    }
    this.scheduleRetry({ state: "connecting", reason: "closed", code });
  }

  private stop(change: StateChange): void {
    this.stopped = true;
    this.pending.failAll(
      new MomentumError(
        change.reason === "user_disabled" ? "user_disabled" : "token_expired",
        `connection closed for good (${change.code})`,
      ),
    );
    this.setState(change);
  }

  private scheduleRetry(change: StateChange): void {
    const delay = this.backoff.next();
    this.setState({ ...change, delay });
    this.retry.start(delay, () => void this.open());
  }

  private setState(change: StateChange): void {
    if (change.state === this.current && change.reason === undefined) return;
    this.current = change.state;
    this.emit("state", change);
  }

  // -- tokens -----------------------------------------------------------------------------

  private scheduleRefresh(delay = this.tokens.nextRefresh()): void {
    if (delay === undefined) return;
    this.refresh.start(delay, () => {
      this.refreshToken().catch((error: unknown) => {
        this.emit("error", asError(error, "token_invalid"));
        if (this.current === "connected") this.scheduleRefresh(this.tokens.retryIn());
      });
    });
  }

  // -- frames -----------------------------------------------------------------------------

  private request(
    ref: string,
    request: Omit<Pending, "resolve" | "reject">,
    timeout?: number,
  ): Promise<Data> {
    if (this.stopped) return Promise.reject(new MomentumError("not_connected", "connect() first"));
    return new Promise<Data>((resolve, reject) => {
      this.pending.add(
        ref,
        { ...request, resolve, reject },
        timeout ?? this.options.timeout ?? 30_000,
      );
      if (this.current === "connected") this.writeText(request.frame());
      else if (!request.replay)
        this.pending.fail(ref, new MomentumError("not_connected", "not connected"));
    });
  }

  private write(envelope: Data): boolean {
    return this.writeText(JSON.stringify(envelope));
  }

  private writeText(text: string): boolean {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== OPEN) return false;
    socket.send(text);
    return true;
  }

  private receive(raw: unknown): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(String(raw)) as Envelope;
    } catch {
      this.emit(
        "error",
        new MomentumError("invalid_json", "the server sent a frame that is not JSON"),
      );
      return;
    }
    const data = (envelope.data ?? {}) as Data;
    switch (envelope.message_type) {
      case "ack":
        return this.answered(String(data.ref_id), data);
      case "error":
        return this.refused(data);
      case "pong":
        return;
      case "user_joined":
      case "user_left":
        return this.emit("presence", envelope);
      case "text":
      case "notification":
      case "system_message":
        return this.delivered(envelope);
      default:
        if (envelope.message_type?.startsWith("room_")) return this.emit("room_presence", envelope);
        return this.emit("unknown", envelope);
    }
  }

  private delivered(envelope: Envelope): void {
    if (envelope.room_id !== undefined && envelope.room_id !== null) {
      if (
        typeof envelope.offset === "number" &&
        this.book.accept(envelope.room_id, envelope.offset)
      ) {
        this.emit("room_message", envelope);
      }
      return;
    }
    if (envelope.to_user_id) this.acks.add(envelope.id); // stored for us: acknowledge, repeats too
    if (this.seen.first(envelope.id)) this.emit("message", envelope);
  }

  private answered(ref: string, data: Data): void {
    const request = this.pending.get(ref);
    if (request?.kind === "join" || request?.kind === "resume") {
      for (const status of roomStatuses(data)) {
        this.book.subscribed(status);
        this.emit("recovered", status);
      }
    }
    this.pending.succeed(ref, data);
  }

  private refused(data: Data): void {
    const code = String(data.code) as ErrorCode;
    const roomId = typeof data.room_id === "string" ? data.room_id : undefined;
    const error = new MomentumError(code, String(data.message ?? code), roomId);
    const ref = typeof data.ref_id === "string" ? data.ref_id : undefined;
    const request = ref === undefined ? undefined : this.pending.get(ref);
    if (roomId !== undefined && (request?.kind === "join" || request?.kind === "resume"))
      this.book.leave(roomId);
    if (request === undefined || request.kind === "resume") return this.emit("error", error);
    this.pending.fail(ref as string, error);
  }
}

function roomStatuses(data: Data): RoomStatus[] {
  const rooms = Array.isArray(data.rooms) ? (data.rooms as Data[]) : [];
  return rooms.map((room) => ({
    roomId: String(room.room_id),
    offset: Number(room.offset),
    recovered: room.recovered !== false,
  }));
}

function asError(error: unknown, code: ErrorCode): MomentumError {
  return error instanceof MomentumError ? error : new MomentumError(code, String(error));
}
