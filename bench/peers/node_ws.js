// Reference server: Node.js `ws` speaking the benchmark subset of Momentum.
//
// - ws://127.0.0.1:$PORT/ws?token=JWT (HS256, secret $BENCH_JWT_SECRET); no valid token: HTTP 401.
// - A `text` or `notification` frame is relayed as Momentum's envelope (id, message_type, data,
//   timestamp, from_user_id, to_user_id): to every open connection when `to_user_id` is null or
//   absent (the sender's included, as Momentum does), else to every connection of that user.
// - Anything else (acks, pings, bad JSON) is ignored: no storage, no acks, no presence.
//
// The straightforward way to write this relay with `ws`: the envelope encoded once into a
// Buffer, then written to each recipient.
// Run: PORT=9101 BENCH_JWT_SECRET=… NODE_PATH=…/node_modules node node_ws.js
'use strict';
const http = require('http');
const { randomUUID } = require('crypto');
const { WebSocketServer, WebSocket } = require('ws');
const jwt = require('jsonwebtoken');

const secret = process.env.BENCH_JWT_SECRET;
if (!secret) { console.error('node_ws.js: BENCH_JWT_SECRET is not set'); process.exit(2); }
const port = Number(process.env.PORT || 9101);
const RELAYED = new Set(['text', 'notification']);

const byUser = new Map(); // user id -> Set<WebSocket>
const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024, perMessageDeflate: false });
const server = http.createServer((req, res) => { res.writeHead(404); res.end(); });

function refuse(socket) {
  socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname !== '/ws') { refuse(socket); return; }
  let claims;
  try {
    claims = jwt.verify(url.searchParams.get('token') || '', secret, { algorithms: ['HS256'] });
  } catch (err) { refuse(socket); return; }
  if (!claims || typeof claims.sub !== 'string') { refuse(socket); return; }
  wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, claims.sub));
});

function onOpen(ws, user) {
  let mine = byUser.get(user);
  if (!mine) { mine = new Set(); byUser.set(user, mine); }
  mine.add(ws);
  ws.on('message', (raw, isBinary) => {
    if (isBinary) return;
    let msg;
    try { msg = JSON.parse(raw); } catch (err) { return; }
    if (!msg || !RELAYED.has(msg.message_type)) return;
    const to = msg.to_user_id || null;
    const data = msg.data && typeof msg.data === 'object' && !Array.isArray(msg.data) ? msg.data : {};
    const frame = Buffer.from(JSON.stringify({
      id: randomUUID(), message_type: msg.message_type, data,
      timestamp: new Date().toISOString(), from_user_id: user, to_user_id: to,
    }));
    const recipients = to ? (byUser.get(to) || []) : wss.clients;
    for (const peer of recipients) {
      if (peer.readyState === WebSocket.OPEN) peer.send(frame, { binary: false });
    }
  });
  ws.on('close', () => {
    mine.delete(ws);
    if (mine.size === 0 && byUser.get(user) === mine) byUser.delete(user);
  });
  ws.on('error', () => {});
}

server.listen({ port, host: '127.0.0.1', backlog: 1024 });
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    for (const ws of wss.clients) ws.terminate();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
