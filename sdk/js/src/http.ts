import type { Envelope, OnlineUser, Room, Session, User } from "./types.js";
import { MomentumError, type ErrorCode } from "./types.js";

interface FetchResponse {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}
type Fetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<FetchResponse>;

export interface HttpOptions {
  /** the access token for calls that need one (read at every call) */
  token?: () => string | undefined;
  fetch?: Fetch;
}

export interface Page<T, N> {
  messages: T[];
  next: N | null;
}

/** The HTTP API of docs/api.md that clients use: sign-in, refresh, online users, history. */
export class MomentumHttp {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly options: HttpOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
  }

  /** `POST /auth/login` with a username or email. */
  login(login: string, password: string): Promise<Session> {
    return this.call("POST", "/auth/login", { login, password }, false);
  }

  /** `POST /auth/refresh`: spends the refresh token, answers a new pair. */
  refresh(refreshToken: string): Promise<Session> {
    return this.call("POST", "/auth/refresh", { refresh_token: refreshToken }, false);
  }

  /** `GET /users/by-name/<username>`: a user's id, to address a direct message. */
  async userByName(username: string): Promise<User> {
    const path = `/users/by-name/${encodeURIComponent(username)}`;
    return (await this.call<{ user: User }>("GET", path)).user;
  }

  /** `GET /ws/online`. */
  online(): Promise<{ users: OnlineUser[]; count: number }> {
    return this.call("GET", "/ws/online");
  }

  /** `GET /ws/history`: the conversation with one user, newest first. */
  history(
    withUser: string,
    page: { limit?: number; before?: string; beforeSeq?: number } = {},
  ): Promise<Page<Envelope & { seq: number }, { before: string; before_seq: number }>> {
    const query = new URLSearchParamsLite({
      with: withUser,
      limit: page.limit,
      before: page.before,
      before_seq: page.beforeSeq,
    });
    return this.call("GET", `/ws/history?${query}`);
  }

  /** `GET /rooms/<id>/messages`: a room's messages, newest first. */
  roomMessages(
    roomId: string,
    page: { limit?: number; before?: number } = {},
  ): Promise<Page<Envelope, { before: number }>> {
    const query = new URLSearchParamsLite({ limit: page.limit, before: page.before });
    return this.call("GET", `/rooms/${encodeURIComponent(roomId)}/messages?${query}`);
  }

  /** `GET /rooms/<id>` (admins). */
  async room(roomId: string): Promise<Room> {
    return (await this.call<{ room: Room }>("GET", `/rooms/${encodeURIComponent(roomId)}`)).room;
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    authorized = true,
  ): Promise<T> {
    const headers: Record<string, string> = {};
    const token = authorized ? this.options.token?.() : undefined;
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    const init: { method: string; headers: Record<string, string>; body?: string } = {
      method,
      headers,
    };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const fetch = this.options.fetch ?? (globalThis as unknown as { fetch: Fetch }).fetch;
    let response: FetchResponse;
    try {
      response = await fetch(this.base + path, init);
    } catch (error) {
      throw new MomentumError("network", String(error));
    }
    const answer = (await response.json().catch(() => undefined)) as
      { error?: { code?: string; message?: string } } | undefined;
    if (!response.ok) {
      const code = (answer?.error?.code ?? "bad_response") as ErrorCode;
      throw new MomentumError(code, answer?.error?.message ?? `HTTP ${response.status}`);
    }
    return answer as T;
  }
}

/** A refresh-token session as a `getToken`: each call spends the refresh token once (a
 * refresh token presented twice ends the session), one call at a time. */
export function sessionTokens(
  http: MomentumHttp,
  session: Session,
  onSession?: (session: Session) => void,
): () => Promise<string> {
  let current = session;
  let inFlight: Promise<string> | undefined;
  return () => {
    inFlight ??= http
      .refresh(current.refresh_token)
      .then((next) => {
        current = next;
        onSession?.(next);
        return next.token;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

/** `URLSearchParams` without it (React Native's is incomplete): undefined values left out. */
class URLSearchParamsLite {
  constructor(private readonly params: Record<string, string | number | undefined>) {}

  toString(): string {
    return Object.entries(this.params)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
      .join("&");
  }
}
