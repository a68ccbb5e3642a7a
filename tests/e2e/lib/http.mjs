// A small client for tasklog's REST API (docs/http-api.md) used by the end-to-end tests.
import assert from 'node:assert/strict';

export class Api {
  constructor(baseUrl, token) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
    this.token = token;
  }

  // Resolves with {status, body (parsed JSON or null), headers}; never throws on a status.
  async request(method, path, body, headers = {}) {
    const init = { method, headers: { ...headers } };
    if (this.token) init.headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(this.baseUrl + path, init);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  // The body of a 2xx answer; anything else fails with what the server said.
  async ok(method, path, body, headers) {
    const r = await this.request(method, path, body, headers);
    assert.ok(r.status >= 200 && r.status < 300,
              `${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  }

  get(path) { return this.ok('GET', path); }
  post(path, body = {}, headers) { return this.ok('POST', path, body, headers); }

  // Every item of a cursor-paged list, following next_cursor.
  async all(path, limit = 500) {
    const items = [];
    let cursor = null;
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const page = await this.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.data);
      if (page.next_cursor === null || page.next_cursor === undefined) return items;
      cursor = page.next_cursor;
    }
  }
}

// Polls `probe` until it returns a truthy value or `ms` pass; resolves with that value or throws
// `what` (never a fixed sleep that hopes).
export async function eventually(what, probe, ms = 30_000, every = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this script through run.mjs`);
  return value;
}
