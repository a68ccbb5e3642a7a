// Two `tasklog serve` processes on ONE database: A is the one run.mjs started (embedded
// PostgreSQL), B is started here with --database-url of A's cluster. A subscriber on B receives,
// live, the events appended through A, and a subscriber on A those appended through B — in order,
// without gap or duplicate.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Api, env } from './lib/http.mjs';
import { Serve, embeddedConninfo, reachableDir } from './lib/serve.mjs';
import { StreamClient, assertSameEvents } from './lib/stream.mjs';

const urlA = env('TASKLOG_URL');
const token = env('TASKLOG_TOKEN');
const conninfo = await embeddedConninfo(env('TASKLOG_HOME'));

const serveB = new Serve({ name: 'serve-b', home: reachableDir(path.join(env('E2E_TMP'), 'home-b')), databaseUrl: conninfo });
let failure = null;
try {
  const urlB = await serveB.start();
  console.log(`two_processes: B (pid ${serveB.child.pid}) on ${urlB}, database ${conninfo}`);
  const viaA = new Api(urlA, token);
  const viaB = new Api(urlB, token);

  // The same user, the same data, through either process.
  const P = (await viaA.post('/v1/projects', { name: 'two processes' })).data.id;
  assert.equal((await viaB.get(`/v1/projects/${P}`)).data.name, 'two processes', 'B reads what A wrote');
  const taskA = (await viaA.post(`/v1/projects/${P}/tasks`, { title: 'written through A' })).data.id;
  const taskB = (await viaB.post(`/v1/projects/${P}/tasks`, { title: 'written through B' })).data.id;

  const onB = await new StreamClient(urlB, token, { project: P, after: 0 }, { label: 'subscriber on B' }).openExpectingSuccess();
  const onA = await new StreamClient(urlA, token, { project: P, after: 0 }, { label: 'subscriber on A' }).openExpectingSuccess();
  const before = (await viaA.all(`/v1/projects/${P}/events?after=0`)).at(-1).position;
  await onB.waitForPosition(before, 60_000);
  await onA.waitForPosition(before, 60_000);

  // Live from here on: 4 writers through A and 4 through B, 50 events each.
  const writes = [];
  for (let i = 0; i < 4; ++i) {
    writes.push((async () => {
      for (let k = 0; k < 50; ++k) await viaA.post(`/v1/tasks/${taskA}/messages`, { role: 'assistant', content: `A${i}.${k}` });
    })());
    writes.push((async () => {
      for (let k = 0; k < 50; ++k) await viaB.post(`/v1/tasks/${taskB}/messages`, { role: 'assistant', content: `B${i}.${k}` });
    })());
  }
  await Promise.all(writes);
  const last = (await viaA.post(`/v1/tasks/${taskA}/messages`, { role: 'system', content: 'sentinel' })).position;

  const expected = await viaB.all(`/v1/projects/${P}/events?after=0`);
  assert.equal(expected.at(-1).position, last);
  await onB.waitForPosition(last, 60_000);
  await onA.waitForPosition(last, 60_000);
  assertSameEvents(onB.label, onB.events, expected);
  assertSameEvents(onA.label, onA.events, expected);
  const live = onB.events.filter((e) => e.position > before && e.task_id === taskA).length;
  assert.equal(live, 201, 'B delivered every event appended through A after its catch-up');
  for (const s of [onA, onB]) await s.close();
  console.log(`two_processes: ok — ${expected.length} events, ${live} of them appended through A, live on B`);
} catch (e) {
  failure = e;
} finally {
  const complaint = await serveB.stop();
  if (complaint) {
    console.error(complaint);
    console.error(`--- serve-b output:\n${serveB.tail(60)}\n--- end`);
    if (!failure) failure = new Error(complaint);
  }
}
if (failure) throw failure;
