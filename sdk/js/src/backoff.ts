/** Reconnect delays: exponential backoff with full jitter. */

export interface BackoffOptions {
  /** the first delay's ceiling, in ms (default 500) */
  baseDelay?: number;
  /** the largest ceiling, in ms (default 30 000) */
  maxDelay?: number;
}

/**
 * Attempt n waits a uniformly random time in [0, min(maxDelay, baseDelay · 2ⁿ)): "full jitter",
 * so clients cut off together do not come back together.
 */
export class Backoff {
  readonly baseDelay: number;
  readonly maxDelay: number;
  private attempt = 0;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.baseDelay = options.baseDelay ?? 500;
    this.maxDelay = options.maxDelay ?? 30_000;
  }

  /** How many delays were given since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  /** The ceiling of the next delay. */
  ceiling(): number {
    return Math.min(this.maxDelay, this.baseDelay * 2 ** Math.min(this.attempt, 30));
  }

  /** The next delay, in ms. */
  next(): number {
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt += 1;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
