import type { Clock } from "./clock.js";
import { refreshDelay, tokenExpiry } from "./token.js";
import { MomentumError } from "./types.js";

/** The connection's access token: the one in hand, its expiry, and fetching the next. */
export class TokenKeeper {
  private token: string | undefined;
  private fetching: Promise<string> | undefined;
  /** epoch ms; from the token's `exp`, then from the server's answer to `auth` */
  expiresAt: number | undefined;

  constructor(
    token: string | undefined,
    private readonly getToken: (() => Promise<string>) | undefined,
    private readonly clock: Clock,
    private readonly margin: number,
  ) {
    this.set(token);
  }

  get canRefresh(): boolean {
    return this.getToken !== undefined;
  }

  /** The token in hand if it is worth a connection attempt (not about to expire), else none. */
  usable(): string | undefined {
    if (this.token === undefined || this.expiresAt === undefined || !this.canRefresh)
      return this.token;
    return this.expiresAt - this.clock.now() > 1000 ? this.token : undefined;
  }

  /** Forget the token in hand (the server said it expired or was revoked). */
  drop(): void {
    this.set(undefined);
  }

  /** A new token from `getToken`, one call at a time. */
  fresh(): Promise<string> {
    const getToken = this.getToken;
    if (getToken === undefined) {
      return Promise.reject(
        new MomentumError("token_expired", "no getToken to refresh the token with"),
      );
    }
    this.fetching ??= getToken()
      .then((token) => {
        this.set(token);
        return token;
      })
      .finally(() => {
        this.fetching = undefined;
      });
    return this.fetching;
  }

  /** When to hand the server the next token (ms from now), if it can be fetched. */
  nextRefresh(): number | undefined {
    if (!this.canRefresh || this.expiresAt === undefined) return undefined;
    return refreshDelay(this.expiresAt, this.clock.now(), this.margin);
  }

  /** After a failed refresh: when to try again while the token lasts, if at all. */
  retryIn(): number | undefined {
    const left = (this.expiresAt ?? 0) - this.clock.now();
    return left > 1000 ? Math.min(5000, left / 2) : undefined;
  }

  private set(token: string | undefined): void {
    this.token = token;
    this.expiresAt = token === undefined ? undefined : tokenExpiry(token);
  }
}
