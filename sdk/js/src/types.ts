/** The wire format of docs/protocol.md: envelopes, message types, error and close codes. */

/** Every frame, both directions: one JSON object. */
export interface Envelope<D = Record<string, unknown>> {
  id: string;
  message_type: string;
  data: D;
  timestamp?: string;
  from_user_id?: string | null;
  to_user_id?: string | null;
  /** room messages only */
  room_id?: string;
  /** room messages only: 1, 2, 3, … per room */
  offset?: number;
}

/** Types an application message may have. */
export type ContentType = "text" | "notification";

/** `data.code` of an `error` envelope and `error.code` of an HTTP error body. */
export type ErrorCode =
  | "invalid_json"
  | "invalid_envelope"
  | "unknown_type"
  | "forbidden_type"
  | "invalid_uuid"
  | "sender_mismatch"
  | "payload_too_large"
  | "binary_unsupported"
  | "rate_limited"
  | "unknown_recipient"
  | "recipient_quota"
  | "internal_error"
  | "storage_unavailable"
  | "storage_busy"
  | "duplicate_id"
  | "room_full"
  | "too_many_rooms"
  | "token_missing"
  | "token_invalid"
  | "token_expired"
  | "token_revoked"
  | "user_unknown"
  | "user_disabled"
  | "forbidden_origin"
  | "forbidden"
  | "too_many_connections"
  | "server_full"
  | "shutting_down"
  | "bad_request"
  | "not_found"
  | "conflict"
  | "unavailable"
  | "request_too_large"
  | "invalid_credentials"
  | "busy";

/** Codes of the SDK's own refusals (no frame from the server). */
export type ClientErrorCode =
  "timeout" | "not_stored" | "closed" | "not_connected" | "network" | "bad_response";

/** WebSocket close codes the server sends. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TOKEN_EXPIRED: 4001,
  USER_DISABLED: 4003,
  RATE_LIMITED: 4008,
  SLOW_CONSUMER: 4009,
  STALE: 4010,
} as const;

/** A refusal: the server's `error` code, or the SDK's own. */
export class MomentumError extends Error {
  readonly code: ErrorCode | ClientErrorCode;
  /** the room a room request's refusal is about */
  readonly roomId: string | undefined;

  constructor(code: ErrorCode | ClientErrorCode, message: string, roomId?: string) {
    super(message);
    this.name = "MomentumError";
    this.code = code;
    this.roomId = roomId;
  }
}

/** A user as the HTTP API returns it. */
export interface User {
  id: string;
  email?: string;
  username: string;
  is_active?: boolean;
  is_admin?: boolean;
  created_at?: string;
}

/** `POST /auth/login` and `POST /auth/refresh`. */
export interface Session {
  token: string;
  expires_at: string;
  refresh_token: string;
  refresh_expires_at: string;
  user: User;
}

/** One entry of `GET /ws/online`. */
export interface OnlineUser {
  id: string;
  username: string;
  connections: number;
  connected_since: string;
}

/** A room as the HTTP API returns it. */
export interface Room {
  id: string;
  name: string;
  kind: "public" | "private";
  owner_id: string;
  max_members: number | null;
  max_message_bytes: number | null;
  last_offset: number;
  created_at: string;
}
