/** The standard WebSocket, as far as the SDK uses it (browsers, Node ≥ 20, React Native). */

export interface SocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a socket offering `protocols`. */
export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export const OPEN = 1;

/** The global `WebSocket` (Node 20 needs `--experimental-websocket`; Node 22 has it). */
export const globalSocket: SocketFactory = (url, protocols) => {
  const ctor = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => SocketLike })
    .WebSocket;
  if (ctor === undefined) {
    throw new Error("no global WebSocket: pass options.socket (Node 20: --experimental-websocket)");
  }
  return new ctor(url, protocols);
};

/** The subprotocols that carry `token` (never in the URL, where logs keep it). */
export function offers(token: string): string[] {
  return ["momentum", `bearer.${token}`];
}
