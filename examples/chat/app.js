// The Momentum chat example: sign in, see who is online, chat directly and in rooms.
// Open it as /examples/chat/?server=http://127.0.0.1:8000 from any static server (the
// Momentum server then lists this page's origin in WS_ALLOWED_ORIGINS and
// HTTP_ALLOWED_ORIGINS). It keeps its session, the conversation and each room's offset in
// sessionStorage, so a reload resumes where it was and loses nothing.
import {
  MomentumClient,
  MomentumHttp,
  sessionTokens,
} from "../../sdk/js/dist/index.js";

const server =
  new URL(location.href).searchParams.get("server") ?? location.origin;
const wsUrl = server.replace(/^http/, "ws") + "/ws";
const $ = (selector) => document.querySelector(selector);
const SESSION = "momentum-chat:session";

let session = JSON.parse(sessionStorage.getItem(SESSION) ?? "null");
let client;
let saved; // this user's conversation and rooms: { log: [...], offsets: { room: offset } }
const users = new Map(); // user id → name: everyone seen online (offline ones get stored messages)

const http = new MomentumHttp(server, { token: () => session?.token });

$("#signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    keepSession(await http.login(form.get("login"), form.get("password")));
    start();
  } catch (error) {
    $("#signin-error").textContent = `${error.code}: ${error.message}`;
  }
});

$("#signout").addEventListener("click", () => {
  client?.disconnect();
  sessionStorage.clear();
  location.reload();
});

function keepSession(next) {
  session = next;
  sessionStorage.setItem(SESSION, JSON.stringify(next));
}

function store() {
  sessionStorage.setItem(
    `momentum-chat:${session.user.id}`,
    JSON.stringify(saved),
  );
}

function start() {
  saved = JSON.parse(
    sessionStorage.getItem(`momentum-chat:${session.user.id}`) ??
      '{"log": [], "offsets": {}}',
  );
  $("#signin").hidden = true;
  $("#chat").hidden = false;
  $("#me").textContent = session.user.username;
  saved.log.forEach(render);
  client = new MomentumClient({
    url: wsUrl,
    token: session.token,
    getToken: sessionTokens(http, session, keepSession),
  });
  client.on("state", ({ state, reason }) => {
    $("#state").textContent =
      reason && state !== "connected" ? `${state} (${reason})` : state;
    $("#state").dataset.state = state;
    if (state === "connected") refreshOnline();
  });
  client.on("message", (m) =>
    received(
      m,
      m.from_user_id === session.user.id ? m.to_user_id : m.from_user_id,
    ),
  );
  client.on("room_message", (m) => {
    saved.offsets[m.room_id] = m.offset;
    if (m.from_user_id === session.user.id)
      store(); // our own: shown as we sent it
    else received(m, m.room_id);
  });
  client.on("presence", refreshOnline);
  client.on("recovered", ({ roomId, recovered }) => {
    if (!recovered)
      note(`some messages of room ${roomId} are no longer stored`);
  });
  client.connect();
  for (const [room, offset] of Object.entries(saved.offsets))
    joinRoom(room, offset);
}

async function refreshOnline() {
  try {
    const { users: online } = await http.online();
    for (const user of online) users.set(user.id, user.username);
    $("#users").replaceChildren(
      ...online.map((u) => item(u.username, { "data-user-id": u.id })),
    );
    targets();
  } catch (error) {
    note(`online users: ${error.code}`);
  }
}

async function joinRoom(room, offset) {
  saved.offsets[room] ??= offset ?? 0;
  store();
  try {
    const status = await client.join(room, offset || undefined);
    saved.offsets[room] = Math.max(saved.offsets[room], status.offset);
    store();
    const rooms = Object.keys(saved.offsets);
    $("#rooms").replaceChildren(
      ...rooms.map((r) => item(r, { "data-room-id": r })),
    );
    targets();
  } catch (error) {
    delete saved.offsets[room];
    store();
    note(`room ${room}: ${error.code}`);
  }
}

$("#join").addEventListener("submit", (event) => {
  event.preventDefault();
  joinRoom(event.target.room.value.trim());
  event.target.reset();
});

function targets() {
  const select = $("#to");
  const chosen = select.value;
  const options = [...users]
    .filter(([id]) => id !== session.user.id)
    .map(([id, name]) => [`user:${id}`, name]);
  for (const room of Object.keys(saved.offsets))
    options.push([`room:${room}`, `# ${room.slice(0, 8)}`]);
  select.replaceChildren(
    ...options.map(([value, label]) =>
      Object.assign(document.createElement("option"), {
        value,
        textContent: label,
      }),
    ),
  );
  if (options.some(([value]) => value === chosen)) select.value = chosen;
}

$("#compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const [kind, target] = form.to.value.split(":");
  const entry = {
    id: `local-${crypto.randomUUID()}`,
    where: target,
    from: session.user.username,
    text: form.text.value,
    state: "sent",
    mine: true,
  };
  form.text.value = "";
  add(entry);
  try {
    if (kind === "room") {
      const result = await client.publish(target, {
        content: entry.text,
        from: entry.from,
      });
      update(entry, { id: result.messageId, state: "stored" });
    } else {
      const result = await client.send(target, {
        content: entry.text,
        from: entry.from,
      });
      update(entry, {
        id: result.messageId,
        state: result.delivered > 0 ? "delivered" : "stored",
      });
    }
  } catch (error) {
    update(entry, { state: "failed", error: error.code });
  }
});

function received(message, where) {
  if (saved.log.some((e) => e.id === message.id)) return; // already shown (before a reload)
  const from =
    users.get(message.from_user_id) ?? message.data.from ?? "someone";
  add({
    id: message.id,
    where,
    from,
    text: String(message.data.content ?? ""),
    mine: false,
  });
}

function add(entry) {
  saved.log.push(entry);
  store();
  render(entry);
}

function update(entry, changes) {
  const row = document.querySelector(`[data-entry="${entry.id}"]`);
  Object.assign(entry, changes);
  store();
  row?.replaceWith(row && entryRow(entry));
}

function render(entry) {
  $("#log").append(entryRow(entry));
  $("#log").lastElementChild.scrollIntoView({ block: "end" });
}

function entryRow(entry) {
  const row = item("", {
    "data-entry": entry.id,
    "data-mine": String(entry.mine),
  });
  const where =
    entry.where in saved.offsets ? `#${entry.where.slice(0, 8)}` : "direct";
  row.append(
    item(where, { class: "where" }, "span"),
    `${entry.from}: `,
    item(entry.text, { class: "text" }, "span"),
  );
  if (entry.mine)
    row.append(
      item(
        entry.error ?? entry.state,
        { class: "state", "data-state": entry.state },
        "span",
      ),
    );
  return row;
}

function item(text, attributes = {}, tag = "li") {
  const element = document.createElement(tag);
  element.textContent = text;
  for (const [name, value] of Object.entries(attributes))
    element.setAttribute(name, value);
  return element;
}

function note(text) {
  $("#log").append(item(text, { class: "note" }));
}

if (session !== null) start();
