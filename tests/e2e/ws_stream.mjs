// GET /v1/stream with the `ws` package: 8 concurrent writers append 2,000 events to one project;
// subscribers receive exactly the events their user may see, in position order, without gap or
// duplicate — also one that drops its connection mid-stream and resumes with after=<last seen> —
// and another user's subscriptions receive none of them.
import assert from 'node:assert/strict';
import { Api, env, eventually } from './lib/http.mjs';
import { StreamClient, assertSameEvents } from './lib/stream.mjs';

const WRITERS = 8;
const EVENTS = 2000;
const PER_WRITER = EVENTS / WRITERS;

const url = env('TASKLOG_URL');
const aliceToken = env('TASKLOG_TOKEN');
const bobToken = env('TASKLOG_OTHER_TOKEN');
const alice = new Api(url, aliceToken);
const bob = new Api(url, bobToken);

// --- the world: alice's project P (8 tasks) and P2, bob's project Q.
const P = (await alice.post('/v1/projects', { name: 'stream' })).data.id;
const P2 = (await alice.post('/v1/projects', { name: 'stream elsewhere' })).data.id;
const Q = (await bob.post('/v1/projects', { name: "bob's" })).data.id;
const tasks = [];
for (let i = 0; i < WRITERS; ++i) tasks.push((await alice.post(`/v1/projects/${P}/tasks`, { title: `writer ${i}` })).data.id);
const taskP2 = (await alice.post(`/v1/projects/${P2}/tasks`, { title: 'noise' })).data.id;
const taskQ = (await bob.post(`/v1/projects/${Q}/tasks`, { title: "bob's noise" })).data.id;

// --- who may not subscribe.
{
  const anonymous = await new StreamClient(url, null, { project: P, after: 0 }, { label: 'no token', auth: 'none' }).open();
  assert.equal(anonymous.refusal?.status, 401, `a subscription without a token is refused with 401: ${JSON.stringify(anonymous.refusal ?? anonymous.messages)}`);
  const badToken = await new StreamClient(url, 'tl_not_a_token', { project: P, after: 0 }, { label: 'bad token' }).open();
  assert.equal(badToken.refusal?.status, 401, 'an unknown token is refused with 401');
}

// --- subscribers, all from the start of the log.
const s1 = await new StreamClient(url, aliceToken, { project: P, after: 0 }, { label: 'alice P' }).openExpectingSuccess();
const s2 = await new StreamClient(url, aliceToken, { project: P, after: 0 }, { label: 'alice P, dropped' }).openExpectingSuccess();
const s3 = await new StreamClient(url, aliceToken, { project: P, task: tasks[0], after: 0 }, { label: 'alice P task 0' }).openExpectingSuccess();
const b1 = await new StreamClient(url, bobToken, { project: Q, after: 0 }, { label: 'bob Q' }).openExpectingSuccess();
// Bob asking for alice's project: refused as an unknown project (404 before the upgrade, or an
// error message not_found), and never an event.
const b2 = await new StreamClient(url, bobToken, { project: P, after: 0 }, { label: 'bob asking for P' }).open();

// The catch-up of what exists so far ends with caught_up, before any writer starts: what the
// writers append then arrives live.
const setupEnd = (await alice.get(`/v1/projects/${P}/events?after=0&limit=500`)).data.at(-1).position;
await s1.waitForPosition(setupEnd, 60_000);

// --- 8 writers on P (250 messages each), and noise on P2 and Q at the same time.
let writersDone = false;
const acknowledged = [];  // positions the server answered for P's writes
async function writer(i) {
  for (let k = 0; k < PER_WRITER; ++k) {
    const r = await alice.post(`/v1/tasks/${tasks[i]}/messages`, { role: 'assistant', content: `writer ${i} message ${k}` });
    acknowledged.push(r.position);
  }
}
async function noise(api, task, n) {
  for (let k = 0; k < n; ++k) await api.post(`/v1/tasks/${task}/messages`, { role: 'tool', content: `noise ${k}` });
}
const writing = Promise.all([
  ...tasks.map((_, i) => writer(i)),
  noise(alice, taskP2, 100),
  noise(bob, taskQ, 100),
]).finally(() => (writersDone = true));

// --- s2 drops its connection mid-stream and resumes from the last position it saw, this time
// authenticated the browser way (access_token in the query).
const dropAfter = 600;  // of about 2,010: mid-stream, normally while the writers still write
await eventually(`${s2.label} receives ${dropAfter} events`, () => {
  assert.equal(s2.closed, null, `${s2.label} closed early`);
  return s2.events.length >= dropAfter;
}, 120_000, 2);
s2.terminate();
// What the client had processed when its connection went: anything the socket still held is lost.
const s2Seen = s2.events.slice();
const droppedWhileWriting = !writersDone;
const lastSeen = s2Seen.at(-1).position;
const s2b = await new StreamClient(url, aliceToken, { project: P, after: lastSeen }, { label: 'alice P, resumed', auth: 'query' }).openExpectingSuccess();

await writing;
assert.equal(acknowledged.length, EVENTS);

// Sentinels: each is the last event of its project, so a subscriber that has received it has
// received everything before it (position order) — no waiting in the hope that nothing else comes.
const sentinelP = (await alice.post(`/v1/tasks/${tasks[0]}/messages`, { role: 'system', content: 'sentinel' })).position;
const sentinelQ = (await bob.post(`/v1/tasks/${taskQ}/messages`, { role: 'system', content: 'sentinel' })).position;

// --- what each user may see, from the REST API, paged.
const aliceLog = await alice.all('/v1/events?after=0');
const bobLog = await bob.all('/v1/events?after=0');
const expectedP = aliceLog.filter((e) => e.project_id === P);
const expectedT0 = await alice.all(`/v1/tasks/${tasks[0]}/events?after=0`);
const expectedQ = bobLog.filter((e) => e.project_id === Q);
assert.deepEqual(expectedP.map((e) => e.position), (await alice.all(`/v1/projects/${P}/events?after=0`)).map((e) => e.position),
                 "GET /v1/events filtered to P equals GET /v1/projects/P/events");
assert.ok(bobLog.every((e) => e.project_id === Q), 'bob sees only his own project in /v1/events');
assert.equal(expectedP.at(-1).position, sentinelP);
const positionsP = new Set(expectedP.map((e) => e.position));
assert.ok(acknowledged.every((p) => positionsP.has(p)), 'every acknowledged write is in the log of P');
assert.ok(expectedP.length >= EVENTS + WRITERS + 2);

await s1.waitForPosition(sentinelP);
await s2b.waitForPosition(sentinelP);
await s3.waitForPosition(sentinelP);
await b1.waitForPosition(sentinelQ);

assertSameEvents(s1.label, s1.events, expectedP);
assert.ok(s1.caughtUp().length >= 1, `${s1.label}: no caught_up message (got types ${[...new Set(s1.messages.map((m) => m.type))]})`);
assert.ok(s1.caughtUp()[0].position >= setupEnd, `${s1.label}: caught_up at ${s1.caughtUp()[0].position}, before the catch-up's end ${setupEnd}`);

assert.ok(s2b.events.length > 0 && s2b.events[0].position > lastSeen, `${s2b.label}: resumed at ${s2b.events[0]?.position}, after=${lastSeen}`);
assertSameEvents('alice P, dropped then resumed', [...s2Seen, ...s2b.events], expectedP);

assertSameEvents(s3.label, s3.events, expectedT0);
assertSameEvents(b1.label, b1.events, expectedQ);

// Bob never sees P: b2 was refused, closed, or received no event. Every subscriber with access
// has received the sentinel of P by now, so a leaked event would have arrived.
if (!b2.refusal) {
  await eventually(`${b2.label}: an error or a close`, () => b2.closed || b2.messages.some((m) => m.type === 'error'), 30_000);
}
const leaked = b2.events.filter((e) => e.project_id !== Q);
assert.equal(leaked.length, 0, `bob's subscription to P received ${leaked.length} of alice's events`);
const b2Outcome = b2.refusal ? `refused with HTTP ${b2.refusal.status}` :
                  b2.closed ? `closed ${JSON.stringify(b2.closed)}` :
                  `open, messages ${JSON.stringify(b2.messages.slice(0, 3))}`;
if (b2.refusal) assert.equal(b2.refusal.status, 404, 'a project bob may not see is refused as not found');
const b2Error = b2.messages.find((m) => m.type === 'error');
if (b2Error) assert.equal(b2Error.error?.code, 'not_found', `a project bob may not see is not found: ${JSON.stringify(b2Error)}`);

for (const s of [s1, s2, s2b, s3, b1]) {
  const unexpected = s.messages.filter((m) => !['event', 'caught_up', 'heartbeat'].includes(m.type));
  assert.deepEqual(unexpected, [], `${s.label}: messages other than event, caught_up, heartbeat`);
  assert.deepEqual(s.errors, [], `${s.label}: errors`);
}
for (const s of [s1, s2b, s3, b1]) assert.equal(s.closed, null, `${s.label} was closed: ${JSON.stringify(s.closed)}`);
for (const s of [s1, s2b, s3, b1, b2]) if (!s.refusal) await s.close();

console.log(`ws_stream: ok — ${expectedP.length} events of P in order to every alice subscriber; ` +
            `dropped at position ${lastSeen} after ${s2Seen.length} events ${droppedWhileWriting ? 'while the writers ran' : 'after the writers finished'}, resumed without gap or duplicate; ` +
            `bob's subscription to P: ${b2Outcome}`);
