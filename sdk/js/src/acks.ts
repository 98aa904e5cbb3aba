import { Timer, type Clock } from "./clock.js";

/**
 * Received direct messages to acknowledge, sent in batches: at `batch` ids or `delay` ms after
 * the first one, whichever comes first. Ids not yet sent when the connection drops are kept
 * for the next one (the server would deliver them again otherwise).
 */
export class AckBatcher {
  private ids: string[] = [];
  private readonly timer: Timer;

  constructor(
    clock: Clock,
    private readonly send: (ids: string[]) => boolean,
    private readonly delay: number = 500,
    private readonly batch: number = 100,
  ) {
    this.timer = new Timer(clock);
  }

  get waiting(): number {
    return this.ids.length;
  }

  add(id: string): void {
    this.ids.push(id);
    if (this.ids.length >= this.batch) this.flush();
    else if (!this.timer.pending) this.timer.start(this.delay, () => this.flush());
  }

  /** Send what waits (in frames of at most `batch` ids); keep it if the socket is down. */
  flush(): void {
    this.timer.cancel();
    while (this.ids.length > 0) {
      const chunk = this.ids.slice(0, this.batch);
      if (!this.send(chunk)) return;
      this.ids = this.ids.slice(chunk.length);
    }
  }

  stop(): void {
    this.timer.cancel();
  }
}
