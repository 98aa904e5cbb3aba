/** The client's options, states and events. */
import type { BackoffOptions } from "./backoff.js";
import type { Clock } from "./clock.js";
import type { RoomStatus } from "./rooms.js";
import type { SocketFactory } from "./socket.js";
import type { Envelope, MomentumError } from "./types.js";

export type ConnectionState = "connecting" | "connected" | "disconnected";

/** Why the client is not connected. */
export type DisconnectReason =
  | "client" // disconnect() was called
  | "closed" // the connection closed (or never opened): reconnecting
  | "user_disabled" // 4003: terminal
  | "token_expired" // 4001 and no getToken: terminal
  | "token_unavailable"; // getToken failed: retrying

export interface StateChange {
  state: ConnectionState;
  reason?: DisconnectReason;
  /** the close code, when a socket closed */
  code?: number;
  /** ms until the next attempt, while reconnecting */
  delay?: number;
}

export interface ClientEvents {
  state: StateChange;
  /** a direct message or broadcast, once per id */
  message: Envelope;
  /** a room message, once, in offset order per room */
  room_message: Envelope;
  /** `user_joined` / `user_left` */
  presence: Envelope;
  /** a `room_*` frame the server sends (room presence) */
  room_presence: Envelope;
  /** a room (re)subscribed: `recovered` false means messages were missed for good */
  recovered: RoomStatus;
  /** the server accepted a new token: the connection lives until `expiresAt` (epoch ms) */
  token: { expiresAt: number };
  /** an error not tied to a request of the caller's (a refused room on resumption, a failed
   * token refresh, an unparsable frame) */
  error: MomentumError;
  /** a frame of a type this SDK does not know */
  unknown: Envelope;
}

export interface ClientOptions {
  /** `ws://host:8000/ws` or `wss://…` */
  url: string;
  /** the first access token; without it `getToken` is called first */
  token?: string;
  /** a fresh access token (e.g. from `POST /auth/refresh`); called before the token expires
   * and before reconnecting with an expired one. Without it, a 4001 close is terminal. */
  getToken?: () => Promise<string>;
  /** refresh this many ms before `exp` (default 60 000; half the life left if less) */
  refreshMargin?: number;
  reconnect?: BackoffOptions;
  /** ms a connection attempt may take before it is given up (default 10 000) */
  connectTimeout?: number;
  /** ms a request waits for its answer (default 30 000) */
  timeout?: number;
  /** received direct messages are acknowledged after this many ms (default 500)… */
  ackDelay?: number;
  /** …or once this many wait (default 100) */
  ackBatch?: number;
  /** how many received ids are remembered to drop repeats (default 10 000) */
  dedupeSize?: number;
  socket?: SocketFactory;
  clock?: Clock;
  random?: () => number;
}

export interface SendResult {
  messageId: string;
  /** live connections of the recipient handed the message at once (0: stored for later) */
  delivered: number;
}

export interface PublishResult {
  messageId: string;
  roomId: string;
  offset: number;
}
