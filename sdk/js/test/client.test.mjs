import assert from "node:assert/strict";
import { test } from "node:test";

import { MomentumClient } from "../dist/index.js";
import { ack, error, events, FakeClock, jwt, settle, sockets, START } from "./fakes.mjs";

const HOUR = 3600;

function setup(options = {}) {
  const clock = new FakeClock();
  const net = sockets();
  const client = new MomentumClient({
    url: "ws://momentum.test/ws",
    token: jwt(START / 1000 + HOUR),
    socket: net.factory,
    clock,
    random: () => 0.5,
    ...options,
  });
  const states = events(client, "state");
  return { clock, net, client, states };
}

/** The state event of a dropped connection, the next attempt `delay` ms later. */
const reconnecting = (code, delay) => ({ state: "connecting", reason: "closed", code, delay });

async function connected(options) {
  const ctx = setup(options);
  ctx.client.connect();
  await settle();
  ctx.net.last.open();
  return ctx;
}

test("the token travels as a subprotocol, never in the URL", async () => {
  const { net, client } = await connected({ token: jwt(START / 1000 + HOUR) });
  assert.equal(net.last.url, "ws://momentum.test/ws");
  assert.deepEqual(net.last.protocols, ["momentum", `bearer.${jwt(START / 1000 + HOUR)}`]);
  assert.equal(client.state, "connected");
});

test("states: connecting, connected, then reconnecting with backoff after a drop", async () => {
  const { clock, net, client, states } = await connected();
  net.last.drop(1012, "service restart");
  assert.equal(client.state, "connecting");
  assert.deepEqual(states.at(-1), reconnecting(1012, 250));
  await clock.advance(249);
  assert.equal(net.made.length, 1);
  await clock.advance(1);
  assert.equal(net.made.length, 2);
  net.last.drop(1006); // never opened: the next delay doubles
  assert.equal(states.at(-1).delay, 500);
  await clock.advance(500);
  net.last.open();
  assert.equal(client.state, "connected");
  net.last.drop(1006); // a success resets the schedule
  assert.equal(states.at(-1).delay, 250);
  assert.deepEqual(
    states.map((s) => s.state),
    ["connecting", "connected", "connecting", "connecting", "connected", "connecting"],
  );
});

test("an attempt that never opens is given up after connectTimeout", async () => {
  const { clock, net, client, states } = setup({ connectTimeout: 5000 });
  client.connect();
  await clock.advance(4999);
  assert.equal(net.made.length, 1);
  await clock.advance(1);
  assert.equal(net.made[0].closedWith !== undefined, true);
  assert.deepEqual(states.at(-1), reconnecting(1006, 250));
  await clock.advance(250);
  assert.equal(net.made.length, 2);
});

test("4003 is terminal and says why; requests waiting are rejected", async () => {
  const { clock, net, client, states } = await connected();
  const sent = client.send("u2", { content: "hi" });
  net.last.drop(4003, "user disabled");
  assert.deepEqual(states.at(-1), { state: "disconnected", reason: "user_disabled", code: 4003 });
  await assert.rejects(sent, { code: "user_disabled" });
  await clock.advance(120_000);
  assert.equal(net.made.length, 1);
});

test("4001 without getToken is terminal", async () => {
  const { clock, net, states } = await connected();
  net.last.drop(4001, "token expired");
  assert.deepEqual(states.at(-1), { state: "disconnected", reason: "token_expired", code: 4001 });
  await clock.advance(120_000);
  assert.equal(net.made.length, 1);
});

test("4001 with getToken reconnects with a fresh token", async () => {
  const fresh = jwt(START / 1000 + 2 * HOUR);
  let calls = 0;
  const getToken = async () => (calls++, fresh);
  const { clock, net } = await connected({ getToken });
  net.last.drop(4001, "token revoked");
  await clock.advance(250);
  assert.equal(calls, 1);
  assert.equal(net.made.length, 2);
  assert.equal(net.last.protocols[1], `bearer.${fresh}`);
});

test("disconnect() stops for good", async () => {
  const { clock, net, client, states } = await connected();
  client.disconnect();
  assert.equal(net.made[0].closedWith.code, 1000);
  assert.deepEqual(states.at(-1), { state: "disconnected", reason: "client" });
  await clock.advance(60_000);
  assert.equal(net.made.length, 1);
  await assert.rejects(client.send("u2", {}), { code: "not_connected" });
});

test("send resolves on a stored ack, rejects on an error, a refusal to store or a timeout", async () => {
  const { clock, net, client } = await connected({ timeout: 1000 });
  const ok = client.send("u2", { content: "a" });
  const [frame] = net.last.ofType("text");
  assert.equal(frame.to_user_id, "u2");
  net.last.deliver(ack(frame.id, { message_id: "m1", delivered: 1, stored: true }));
  assert.deepEqual(await ok, { messageId: "m1", delivered: 1 });

  const refused = client.send("nobody", { content: "b" });
  net.last.deliver(error(net.last.ofType("text")[1].id, "unknown_recipient"));
  await assert.rejects(refused, { code: "unknown_recipient" });

  const unstored = client.send("u2", { content: "c" });
  net.last.deliver(
    ack(net.last.ofType("text")[2].id, { message_id: "m3", delivered: 1, stored: false }),
  );
  await assert.rejects(unstored, { code: "not_stored" });

  const late = assert.rejects(client.send("u2", { content: "d" }), { code: "timeout" });
  await clock.advance(1000);
  await late;
});

test("a message not acknowledged is sent again, with its id, on the next connection", async () => {
  const { clock, net, client } = await connected();
  const sent = client.send("u2", { content: "survives" });
  const first = net.last.ofType("text")[0];
  net.last.drop(1001, "server shutting down");
  const queued = client.send("u2", { content: "while away" });
  await clock.advance(250);
  net.last.open();
  const again = net.last.ofType("text");
  assert.deepEqual(
    again.map((f) => f.data.content),
    ["survives", "while away"],
  );
  assert.equal(again[0].id, first.id);
  for (const f of again)
    net.last.deliver(ack(f.id, { message_id: f.id, delivered: 0, stored: true }));
  assert.equal((await sent).delivered, 0);
  await queued;
});

test("received direct messages are de-duplicated and acknowledged in batches", async () => {
  const { clock, net, client } = await connected({ ackDelay: 500, ackBatch: 3 });
  const got = events(client, "message");
  const message = (id) => ({
    id,
    message_type: "text",
    data: {},
    from_user_id: "u2",
    to_user_id: "me",
  });
  net.last.deliver(message("a"));
  net.last.deliver(message("a")); // delivered again (at-least-once)
  assert.equal(got.length, 1);
  assert.equal(net.last.ofType("ack").length, 0);
  await clock.advance(500);
  assert.deepEqual(
    net.last.ofType("ack").map((f) => f.data.ids),
    [["a", "a"]],
  );
  for (const id of ["b", "c", "d"]) net.last.deliver(message(id));
  assert.deepEqual(net.last.ofType("ack").at(-1).data.ids, ["b", "c", "d"]);
  net.last.deliver({ id: "x", message_type: "text", data: {}, to_user_id: null }); // a broadcast
  await clock.advance(500);
  assert.equal(net.last.ofType("ack").length, 2); // broadcasts are not stored: no ack
  assert.deepEqual(
    got.map((m) => m.id),
    ["a", "b", "c", "d", "x"],
  );
});

test("acks owed when the connection drops go out on the next one", async () => {
  const { clock, net } = await connected();
  net.last.deliver({ id: "a", message_type: "text", data: {}, to_user_id: "me" });
  net.last.drop(1006);
  await clock.advance(250);
  net.last.open();
  assert.deepEqual(net.last.ofType("ack")[0].data.ids, ["a"]);
});

test("rooms: offsets kept, repeats dropped, resumed from the last offset on reconnect", async () => {
  const { clock, net, client } = await connected();
  const roomMessages = events(client, "room_message");
  const recovered = events(client, "recovered");
  const joined = client.join("r1");
  const subscribe = net.last.ofType("room_subscribe")[0];
  assert.deepEqual(subscribe.data, { room_id: "r1" });
  net.last.deliver(ack(subscribe.id, { rooms: [{ room_id: "r1", offset: 5, recovered: true }] }));
  assert.deepEqual(await joined, { roomId: "r1", offset: 5, recovered: true });
  const room = (offset) => ({
    id: `m${offset}`,
    message_type: "text",
    data: {},
    room_id: "r1",
    offset,
  });
  for (const offset of [6, 7, 7, 5]) net.last.deliver(room(offset));
  assert.deepEqual(
    roomMessages.map((m) => m.offset),
    [6, 7],
  );
  net.last.deliver({ ...room(8), room_id: "other" }); // a room not joined
  assert.equal(roomMessages.length, 2);

  net.last.drop(1012);
  await clock.advance(250);
  net.last.open();
  const resume = net.last.ofType("room_subscribe")[0];
  assert.deepEqual(resume.data, { room_ids: ["r1"], offsets: { r1: 7 } });
  net.last.deliver(room(8)); // missed while away: replayed before the ack
  net.last.deliver(ack(resume.id, { rooms: [{ room_id: "r1", offset: 8, recovered: true }] }));
  assert.deepEqual(recovered.at(-1), { roomId: "r1", offset: 8, recovered: true });
  assert.equal(client.rooms.get("r1"), 8);

  net.last.drop(1012);
  await clock.advance(500);
  net.last.open();
  const gap = net.last.ofType("room_subscribe")[0];
  net.last.deliver(ack(gap.id, { rooms: [{ room_id: "r1", offset: 40, recovered: false }] }));
  assert.deepEqual(recovered.at(-1), { roomId: "r1", offset: 40, recovered: false });
  net.last.deliver(room(41));
  assert.deepEqual(
    roomMessages.map((m) => m.offset),
    [6, 7, 8, 41],
  );
});

test("a refused join rejects with the code and forgets the room", async () => {
  const { net, client } = await connected();
  const joined = client.join("secret");
  const subscribe = net.last.ofType("room_subscribe")[0];
  net.last.deliver(error(subscribe.id, "forbidden", { room_id: "secret" }));
  await assert.rejects(joined, { code: "forbidden", roomId: "secret" });
  assert.equal(client.rooms.has("secret"), false);
});

test("publish resolves with the offset; a join waiting across a reconnect is sent again", async () => {
  const { clock, net, client } = await connected();
  const joined = client.join("r1", 3);
  net.last.drop(1006);
  await clock.advance(250);
  net.last.open();
  const subscribes = net.last.ofType("room_subscribe");
  assert.equal(subscribes.length, 1);
  assert.deepEqual(subscribes[0].data, { room_id: "r1", offset: 3 });
  net.last.deliver(
    ack(subscribes[0].id, { rooms: [{ room_id: "r1", offset: 3, recovered: true }] }),
  );
  await joined;
  const published = client.publish("r1", { content: "hi" });
  const frame = net.last.ofType("room_publish")[0];
  assert.deepEqual(frame.data, { room_id: "r1", message_type: "text", data: { content: "hi" } });
  net.last.deliver(ack(frame.id, { message_id: "m", room_id: "r1", offset: 4, stored: true }));
  assert.deepEqual(await published, { messageId: "m", roomId: "r1", offset: 4 });
});

test("unknown frames and room presence are handed over, never thrown", async () => {
  const { net, client } = await connected();
  const unknown = events(client, "unknown");
  const roomPresence = events(client, "room_presence");
  const errors = events(client, "error");
  net.last.deliver({ id: "1", message_type: "room_user_joined", data: { room_id: "r1" } });
  net.last.deliver({ id: "2", message_type: "something_new", data: {} });
  net.last.onmessage({ data: "not json" });
  net.last.deliver(error(null, "rate_limited"));
  assert.equal(roomPresence.length, 1);
  assert.equal(unknown.length, 1);
  assert.deepEqual(
    errors.map((e) => e.code),
    ["invalid_json", "rate_limited"],
  );
});

test("the token is refreshed a margin before exp and handed over in-band", async () => {
  const exp = START / 1000 + 600;
  const next = jwt(exp + 600);
  let calls = 0;
  const getToken = async () => (calls++, next);
  const { clock, net, client } = await connected({
    token: jwt(exp),
    getToken,
    refreshMargin: 60_000,
  });
  const accepted = events(client, "token");
  await clock.advance(539_999);
  assert.equal(calls, 0);
  await clock.advance(1);
  assert.equal(calls, 1);
  const [auth] = net.last.ofType("auth");
  assert.equal(auth.data.token, next);
  const expiresAt = new Date((exp + 600) * 1000).toISOString();
  net.last.deliver(ack(auth.id, { expires_at: expiresAt }));
  await settle();
  assert.deepEqual(accepted, [{ expiresAt: (exp + 600) * 1000 }]);
  await clock.advance(599_999); // the next one a margin before the new exp
  assert.equal(calls, 1);
  await clock.advance(1);
  assert.equal(calls, 2);
});

test("a refused refresh is reported and tried again while the token lasts", async () => {
  const exp = START / 1000 + 100;
  const getToken = async () => jwt(exp + 600);
  const { clock, net, client } = await connected({
    token: jwt(exp),
    getToken,
    refreshMargin: 60_000,
  });
  const errors = events(client, "error");
  await clock.advance(50_000); // a short life: halfway
  const [auth] = net.last.ofType("auth");
  net.last.deliver(error(auth.id, "token_revoked"));
  await settle();
  assert.deepEqual(
    errors.map((e) => e.code),
    ["token_revoked"],
  );
  await clock.advance(5000);
  assert.equal(net.last.ofType("auth").length, 2);
});
