// The game socket: connect, say HELLO (with the last msg_id seen), reconnect with backoff.

import {OPENED_ELSEWHERE_CLOSE, ROOM_CLOSED_CLOSE, UNAUTHORIZED_CLOSE} from "./protocol.js";

// Close codes after which reconnecting would not help (docs/protocol.md).
const FINAL_CLOSES = new Set([UNAUTHORIZED_CLOSE, OPENED_ELSEWHERE_CLOSE, ROOM_CLOSED_CLOSE]);

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 10000;

/**
 * A WebSocket that comes back by itself. `hello()` returns the frame to send on every
 * (re)connection; `onFrame(frame)` gets each parsed server frame; `onState(state, detail)`
 * hears "connecting", "open", "waiting" (with the delay in ms) and "stopped" (with the close code
 * when the server ended it for good: 4401, 4409 opened in another tab, 4410 room closed).
 */
export class GameSocket {
  constructor(url, {hello, onFrame, onState}) {
    this.url = url;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onState = onState;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.lastHeardAt = Date.now();
  }

  connect() {
    if (this.stopped) return;
    this.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.lastHeardAt = Date.now();
      this.onState("open");
      ws.send(JSON.stringify(this.hello()));
    });
    ws.addEventListener("message", (event) => {
      this.lastHeardAt = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn("discard: ignoring a frame that is not JSON");
        return;
      }
      // With batching asked for in HELLO, one message may hold several frames, in order.
      for (const frame of Array.isArray(message) ? message : [message]) this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (FINAL_CLOSES.has(event.code)) {
        this.stopped = true;
        this.onState("stopped", event.code);
        return;
      }
      this.retry();
    });
  }

  retry() {
    if (this.stopped) {
      this.onState("stopped");
      return;
    }
    // Exponential backoff with jitter, so a restarted server is not stormed by every tab.
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.onState("waiting", delay);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Send a frame if the socket is open; return whether it went out. */
  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Connect again after a stop (the person chose to play the seat in this tab). */
  restart() {
    this.stopped = false;
    this.attempt = 0;
    clearTimeout(this.timer);
    if (!this.ws) this.connect();
  }

  /** Close for good: no reconnection. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000);
  }
}
