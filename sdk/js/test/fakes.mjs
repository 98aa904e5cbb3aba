// A fake clock and a fake WebSocket: the client's timing and frames, deterministic.

export const START = 1_700_000_000_000;

/** Settle pending promise callbacks (the client's async steps). */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

export class FakeClock {
  constructor() {
    this.time = START;
    this.timers = new Map();
    this.serial = 0;
  }

  now() {
    return this.time;
  }

  setTimeout(callback, ms) {
    const id = ++this.serial;
    this.timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(id) {
    this.timers.delete(id);
  }

  /** Move time on by `ms`, running every timer that comes due, in order. */
  async advance(ms) {
    const target = this.time + ms;
    await settle();
    for (;;) {
      const due = [...this.timers]
        .filter(([, t]) => t.at <= target)
        .sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
      if (due.length === 0) break;
      const [id, timer] = due[0];
      this.timers.delete(id);
      this.time = Math.max(this.time, timer.at);
      timer.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

export class FakeSocket {
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = undefined;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("send on a socket that is not open");
    this.sent.push(JSON.parse(text));
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // -- the server's side --
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(envelope) {
    this.onmessage?.({ data: JSON.stringify(envelope) });
  }

  drop(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** Frames sent of one type. */
  ofType(type) {
    return this.sent.filter((frame) => frame.message_type === type);
  }
}

/** A socket factory that keeps every socket it made. */
export function sockets() {
  const made = [];
  const factory = (url, protocols) => {
    const socket = new FakeSocket(url, protocols);
    made.push(socket);
    return socket;
  };
  return {
    made,
    factory,
    get last() {
      return made[made.length - 1];
    },
  };
}

/** An unsigned JWT-shaped token with `exp` (epoch seconds): the SDK only reads `exp`. */
export function jwt(exp, extra = {}) {
  const part = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub: "me", exp, ...extra })}.signature`;
}

export function ack(refId, data = {}) {
  return { id: crypto.randomUUID(), message_type: "ack", data: { ref_id: refId, ...data } };
}

export function error(refId, code, extra = {}) {
  return {
    id: crypto.randomUUID(),
    message_type: "error",
    data: { code, message: code, ref_id: refId, ...extra },
  };
}

export function events(client, name) {
  const seen = [];
  client.on(name, (payload) => seen.push(payload));
  return seen;
}
