// End-to-end scenarios of the SDK against a real Momentum server, driven by
// tests/sdk/test_sdk_js.py: `node --experimental-websocket scenarios.mjs <name>` with the
// server's addresses and accounts as JSON in MOMENTUM_E2E. Each prints JSON lines: `step`
// lines the test waits for, then one `result` line (or `failed`).
import { MomentumClient, MomentumHttp, sessionTokens } from "../dist/index.js";

const env = JSON.parse(process.env.MOMENTUM_E2E);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

function until(client, event, predicate = () => true, ms = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    const off = client.on(event, (payload) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

async function poll(condition, ms = 10_000) {
  for (const end = Date.now() + ms; !condition();) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function signIn(name, options = {}) {
  const http = new MomentumHttp(env.base);
  const session = await http.login(name, env.password);
  let current = session;
  const api = new MomentumHttp(env.base, { token: () => current.token });
  const getToken = sessionTokens(http, session, (next) => (current = next));
  const client = new MomentumClient({ url: env.ws, token: session.token, getToken, ...options });
  const open = until(client, "state", (s) => s.state === "connected");
  client.connect();
  await open;
  return { client, api, user: session.user, session: () => current };
}

const scenarios = {
  /** A direct message, stored and delivered once; history and online users over HTTP. */
  async direct() {
    const alice = await signIn("alice");
    const bob = await signIn("bob");
    const received = until(bob.client, "message");
    const sent = await alice.client.send(bob.user.id, { content: "hello bob" });
    const message = await received;
    const history = await alice.api.history(bob.user.id);
    const online = await alice.api.online();
    for (const { client } of [alice, bob]) client.disconnect();
    return {
      sent,
      received: { id: message.id, content: message.data.content, from: message.from_user_id },
      history: history.messages.map((m) => m.data.content),
      online: online.users.map((u) => u.username).sort(),
    };
  },

  /** Two members of a room: publish, receive, offsets. */
  async room() {
    const alice = await signIn("alice");
    const bob = await signIn("bob");
    const joined = [await alice.client.join(env.room), await bob.client.join(env.room)];
    const received = until(bob.client, "room_message");
    const published = await alice.client.publish(env.room, { content: "hello room" });
    const message = await received;
    const page = await bob.api.roomMessages(env.room);
    for (const { client } of [alice, bob]) client.disconnect();
    return {
      joined,
      published,
      received: { content: message.data.content, offset: message.offset },
      stored: page.messages.map((m) => m.data.content),
    };
  },

  /** The server restarts: bob, reconnecting late, gets what was sent meanwhile, once. */
  async restart() {
    const alice = await signIn("alice");
    // bob comes back ~8 s after a drop: the test publishes in between
    const bob = await signIn("bob", { reconnect: { baseDelay: 8000 }, random: () => 0.99 });
    const log = [];
    bob.client.on("message", (m) => log.push({ kind: "direct", content: m.data.content }));
    bob.client.on("room_message", (m) =>
      log.push({ kind: "room", content: m.data.content, offset: m.offset }),
    );
    bob.client.on("recovered", (r) => log.push({ kind: "recovered", ...r }));
    bob.client.on("state", (s) => log.push({ kind: "state", state: s.state, code: s.code }));
    await alice.client.join(env.room);
    await bob.client.join(env.room);
    const first = until(bob.client, "room_message");
    await alice.client.publish(env.room, { content: "before" });
    await first;
    const dropped = until(alice.client, "state", (s) => s.state === "connecting");
    say({ step: "ready" });
    await dropped;
    // while the server is down: queued, sent once it is back, acked as stored
    const queued = alice.client.send(bob.user.id, { content: "sent while the server was down" });
    const back = until(bob.client, "recovered", () => true, 30_000);
    const stored = await queued;
    await back;
    const last = until(bob.client, "room_message", (m) => m.data.content === "after");
    await alice.client.publish(env.room, { content: "after" });
    await last;
    await poll(() => log.filter((e) => e.kind === "direct").length >= 2);
    for (const { client } of [alice, bob]) client.disconnect();
    return { stored, log };
  },

  /** Tokens live a few seconds: the connection outlives several of them. */
  async refresh() {
    const alice = await signIn("alice", { refreshMargin: 1500 });
    const bob = await signIn("bob");
    const tokens = [];
    alice.client.on("token", (t) => tokens.push(t.expiresAt));
    const states = [];
    alice.client.on("state", (s) => states.push(s));
    const first = alice.session().expires_at;
    await new Promise((resolve) => setTimeout(resolve, env.lifeMs));
    const received = until(bob.client, "message");
    const sent = await alice.client.send(bob.user.id, { content: "still here" });
    await received;
    const seen = states.map((s) => s.state); // before disconnect() adds its own
    for (const { client } of [alice, bob]) client.disconnect();
    return { tokens: tokens.length, states: seen, firstExpiry: first, sent };
  },
};

const name = process.argv[2];
try {
  say({ result: await scenarios[name]() });
  process.exit(0);
} catch (error) {
  say({ failed: String(error?.stack ?? error), code: error?.code });
  process.exit(1);
}
