// The dashboard page: sign-in, the live feed (Server-Sent Events), the actions.
"use strict";

const SPAN_SECONDS = 300; // the chart keeps the last five minutes
const $ = (id) => document.getElementById(id);
let csrf = null;
let feed = null;
let history = [];
let lastUsers = null;

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" },
    body: JSON.stringify(body),
  };
  const reply = await fetch(`/dashboard/api/${path}`, options);
  const data = await reply.json();
  if (!reply.ok) throw new Error(data.error ? data.error.message : reply.statusText);
  return data;
}

function setStatus(text, kind) {
  $("status").textContent = text;
  $("status").className = `pill ${kind || ""}`;
}

function showSignin() {
  if (feed) feed.close();
  feed = null;
  csrf = null;
  $("board").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  $("signin").hidden = false;
  setStatus("signed out");
}

async function start() {
  const session = await api("session");
  if (!session.user) return showSignin();
  csrf = session.csrf;
  $("who").textContent = session.user.username;
  $("signin").hidden = true;
  $("board").hidden = false;
  $("signout").hidden = false;
  openFeed();
  refreshOnline();
}

function openFeed() {
  feed = new EventSource("/dashboard/api/events");
  feed.addEventListener("snapshot", (event) => render(JSON.parse(event.data)));
  feed.addEventListener("unavailable", () => setStatus("degraded", "down"));
  feed.addEventListener("signed_out", () => showSignin());
  feed.onerror = () => {
    setStatus("reconnecting", "down");
    if (feed.readyState === EventSource.CLOSED) start().catch(showSignin);
  };
}

function rows(table, entries) {
  const body = $(table).tBodies[0];
  body.replaceChildren(...entries.map((cells) => {
    const tr = document.createElement("tr");
    for (const cell of cells) {
      const td = document.createElement("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = String(cell);
      tr.append(td);
    }
    return tr;
  }));
}

function counts(table, mapping) {
  const entries = Object.entries(mapping || {}).sort((a, b) => b[1] - a[1]);
  rows(table, entries.length ? entries : [["none", ""]]);
}

function latency(l) {
  if (!l.count) return "no deliveries";
  const ms = (value) => value.toFixed(value < 10 ? 2 : 1);
  return `${ms(l.p50_ms)} / ${ms(l.p90_ms)} / ${ms(l.p99_ms)} ms`;
}

function rooms(table, list, describe) {
  rows(table, list.length ? list.map((r) => [r.id, describe(r)]) : [["none", ""]]);
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
  return h ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
}

function render(s) {
  setStatus(s.draining ? "draining" : "live", s.draining ? "down" : "live");
  $("connections").textContent = s.connections;
  $("users").textContent = s.users;
  $("store").textContent = `${s.store.backend} ${s.store.state}`;
  $("backlog").textContent = s.store.backlog;
  $("broker").textContent = s.broker
    ? `${s.broker.state}${s.broker.lag_seconds == null ? "" : ` ${(s.broker.lag_seconds * 1000).toFixed(1)} ms`}`
    : "in-process";
  $("slow").textContent = s.slow_consumer_closes;
  rows("nodes", s.nodes.map((n) => [n.id, n.host || "", n.version || "", duration(n.uptime),
    n.connections, n.users, n.broker, n.store || ""]));
  counts("rate-in", s.messages_in_per_second);
  counts("rate-out", s.messages_out_per_second);
  counts("closes", s.closes);
  counts("refusals", s.refusals);
  $("latency").textContent = latency(s.latency);
  rows("errors", [["internal errors", s.errors.internal], ["store failures", s.errors.store],
    ["broker failures", s.errors.broker]]);
  counts("envelopes", s.errors.envelopes);
  rooms("rooms-subscribers", s.rooms.by_subscribers, (r) => `${r.subscribers} subscriber(s)`);
  rooms("rooms-messages", s.rooms.by_messages, (r) => `${r.messages_per_second} / s`);
  history.push({ t: s.at, connections: s.connections, users: s.users });
  history = history.filter((p) => s.at - p.t <= SPAN_SECONDS);
  redraw();
  if (s.users !== lastUsers) refreshOnline();
  lastUsers = s.users;
}

function redraw() {
  drawChart($("chart"), [
    { color: "#2857c5", points: history.map((p) => ({ t: p.t, v: p.connections })) },
    { color: "#e07b00", points: history.map((p) => ({ t: p.t, v: p.users })) },
  ], SPAN_SECONDS);
}

async function refreshOnline() {
  const query = encodeURIComponent($("search").value.trim());
  const found = await api(`online?q=${query}`);
  $("matched").textContent = `(${found.matched})`;
  rows("online", found.users.map((u) => [u.username, u.connections,
    button("Disconnect", "", () => disconnect(u.username)),
    button("Disable", "danger", () => setActive(u.username, false))]));
}

function button(text, className, onClick) {
  const element = document.createElement("button");
  element.textContent = text;
  element.className = className;
  element.addEventListener("click", onClick);
  return element;
}

async function act(question, path, body, describe) {
  if (!window.confirm(question)) return;
  try {
    $("result").textContent = describe(await api(path, body));
  } catch (error) {
    $("result").textContent = `Failed: ${error.message}`;
  }
}

function setActive(username, isActive) {
  const verb = isActive ? "Enable" : "Disable";
  return act(`${verb} ${username}?`, "users/active", { username, is_active: isActive },
    (r) => `${r.user.username} ${isActive ? "enabled" : `disabled: ${r.closed_connections} connection(s) closed`}`);
}

function disconnect(username) {
  return act(`Disconnect ${username}? Its connections close with 4004; it may reconnect.`,
    "users/disconnect", { username },
    (r) => `${r.user.username} disconnected: ${r.closed_connections} connection(s) closed`);
}

$("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("signin-error").textContent = "";
  const body = { username: $("username").value, password: $("password").value };
  const reply = await fetch("/dashboard/api/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!reply.ok) {
    const data = await reply.json();
    $("signin-error").textContent = data.error ? data.error.message : reply.statusText;
    return;
  }
  $("password").value = "";
  await start();
});

$("signout").addEventListener("click", async () => {
  await api("logout", {});
  showSignin();
});

let searchTimer = null;
$("search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(refreshOnline, 250);
});

$("broadcast").addEventListener("submit", (event) => {
  event.preventDefault();
  const content = $("broadcast-text").value;
  act("Broadcast this notice to every connected user?", "broadcast", { content },
    (r) => `Broadcast to ${r.recipients} connection(s)`);
});

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const username = $("send-user").value.trim();
  act(`Send this notice to ${username}?`, "send", { username, content: $("send-text").value },
    (r) => `Sent to ${username}: ${r.delivered} connection(s) reached${r.stored ? ", stored until acknowledged" : ""}`);
});

$("account").addEventListener("submit", (event) => {
  event.preventDefault();
  const username = $("account-user").value.trim();
  if (event.submitter.value === "disconnect") disconnect(username);
  else setActive(username, event.submitter.value === "enable");
});

$("cleanup").addEventListener("submit", (event) => {
  event.preventDefault();
  act("Close idle connections and purge expired stored messages now?", "cleanup", {},
    (r) => `Cleanup done: ${r.removed} idle connection(s) closed`);
});

window.addEventListener("resize", redraw);
start().catch(showSignin);
