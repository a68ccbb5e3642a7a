// A recording client of tasklog's live timeline, GET /v1/stream (WebSocket, the `ws` package):
// keeps every message it receives, in order, for the tests to compare with the REST API's log.
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { eventually } from './http.mjs';

export class StreamClient {
  // query: {project, task, after}; auth: 'header' (Authorization: Bearer), 'query'
  // (access_token=, as browsers must) or 'none'.
  constructor(baseUrl, token, query, { label = 'stream', auth = 'header' } = {}) {
    this.label = label;
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null) params.set(k, String(v));
    if (auth === 'query') params.set('access_token', token);
    this.url = `${baseUrl.replace(/^http/, 'ws')}/v1/stream?${params}`;
    this.headers = auth === 'header' ? { Authorization: `Bearer ${token}` } : {};
    this.messages = [];   // every parsed message, in arrival order
    this.events = [];     // the `event` member of every {"type":"event"} message
    this.refusal = null;  // {status, body} when the upgrade was answered with plain HTTP
    this.closed = null;   // {code, reason} once closed
    this.errors = [];
  }

  // Resolves once the WebSocket is open, or once the server refused the upgrade (see refusal).
  open() {
    this.ws = new WebSocket(this.url, { headers: this.headers });
    this.ws.on('message', (data, isBinary) => {
      let message;
      try {
        message = JSON.parse(data.toString());
      } catch {
        this.errors.push(`not JSON (${isBinary ? 'binary' : 'text'}): ${data.toString().slice(0, 200)}`);
        return;
      }
      this.messages.push(message);
      if (message.type === 'event') this.events.push(message.event);
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve(this));
      this.ws.once('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          this.refusal = { status: res.statusCode, body };
          this.closed = { code: null, reason: `HTTP ${res.statusCode}` };
          resolve(this);
        });
      });
      this.ws.on('error', (e) => {
        this.errors.push(e.message);
        if (this.ws.readyState !== WebSocket.OPEN && !this.refusal) reject(new Error(`${this.label}: ${e.message}`));
      });
    });
  }

  async openExpectingSuccess() {
    await this.open();
    assert.equal(this.refusal, null, `${this.label}: upgrade of ${this.url} refused: ${JSON.stringify(this.refusal)}`);
    return this;
  }

  send(message) {
    this.ws.send(JSON.stringify(message));
  }

  lastPosition() {
    return this.events.length ? this.events[this.events.length - 1].position : null;
  }

  caughtUp() {
    return this.messages.filter((m) => m.type === 'caught_up');
  }

  waitForPosition(position, ms = 120_000) {
    return eventually(`${this.label} receives position ${position} (has ${this.events.length} events, last ` +
                      `${this.lastPosition()}, closed ${JSON.stringify(this.closed)})`,
                      () => {
                        if (this.closed) throw new Error(`${this.label}: closed ${JSON.stringify(this.closed)} before position ${position}; last ${this.lastPosition()}`);
                        return this.lastPosition() !== null && this.lastPosition() >= position;
                      }, ms, 20);
  }

  // Abruptly, without a close handshake: what a dropped network looks like.
  terminate() {
    this.ws.terminate();
  }

  async close() {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.ws.once('close', resolve));
    this.ws.close(1000, 'done');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
  }
}

// `received` is exactly `expected` (REST events), in order, without gap or duplicate.
export function assertSameEvents(label, received, expected) {
  const positions = received.map((e) => e.position);
  for (let i = 1; i < positions.length; ++i) {
    assert.ok(positions[i] > positions[i - 1],
              `${label}: position ${positions[i]} after ${positions[i - 1]} (index ${i}): out of order or a duplicate`);
  }
  const want = expected.map((e) => e.position);
  const missing = want.filter((p) => !positions.includes(p));
  const extra = positions.filter((p) => !want.includes(p));
  assert.ok(missing.length === 0 && extra.length === 0,
            `${label}: received ${positions.length} events, expected ${want.length}; missing positions ` +
            `${missing.slice(0, 20).join(',')}${missing.length > 20 ? '…' : ''}; unexpected ` +
            `${extra.slice(0, 20).join(',')}${extra.length > 20 ? '…' : ''}`);
  for (let i = 0; i < expected.length; ++i) {
    const got = received[i];
    const want = expected[i];
    for (const field of ['position', 'event_id', 'type', 'project_id', 'task_id', 'stream_id', 'version']) {
      assert.deepEqual(got[field], want[field],
                       `${label}: the streamed event at position ${want.position} differs from GET /v1/events in "${field}"`);
    }
    assert.deepEqual(got.payload, want.payload,
                     `${label}: the streamed event at position ${want.position} differs from GET /v1/events in "payload"`);
  }
}
