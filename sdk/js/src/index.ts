export { AckBatcher } from "./acks.js";
export { Backoff, type BackoffOptions } from "./backoff.js";
export { MomentumClient, type MessageOptions } from "./client.js";
export type {
  ClientEvents,
  ClientOptions,
  ConnectionState,
  DisconnectReason,
  PublishResult,
  SendResult,
  StateChange,
} from "./options.js";
export { systemClock, type Clock } from "./clock.js";
export { SeenIds } from "./dedupe.js";
export { MomentumHttp, sessionTokens, type HttpOptions, type Page } from "./http.js";
export { newReference } from "./ids.js";
export { RoomBook, type RoomStatus } from "./rooms.js";
export type { SocketFactory, SocketLike } from "./socket.js";
export { refreshDelay, tokenExpiry } from "./token.js";
export {
  CloseCode,
  MomentumError,
  type ClientErrorCode,
  type ContentType,
  type Envelope,
  type ErrorCode,
  type OnlineUser,
  type Room,
  type Session,
  type User,
} from "./types.js";
