// The harness itself: the server run.mjs started answers, the tokens it handed out work, and the
// two users do not see each other's projects.
import assert from 'node:assert/strict';
import { Api, env } from './lib/http.mjs';

const url = env('TASKLOG_URL');
const alice = new Api(url, env('TASKLOG_TOKEN'));
const bob = new Api(url, env('TASKLOG_OTHER_TOKEN'));
const anonymous = new Api(url, null);

assert.equal((await anonymous.request('GET', '/healthz')).status, 200, '/healthz');
assert.equal((await anonymous.request('GET', '/v1/projects')).status, 401, 'no token: 401');

const created = await alice.post('/v1/projects', { name: 'e2e smoke' });
assert.equal(created.data.name, 'e2e smoke');
assert.equal(created.data.role, 'owner');
assert.ok(created.position > 0, 'a command answers its log position');

const mine = await alice.all('/v1/projects');
assert.deepEqual(mine.map((p) => p.id), [created.data.id]);
assert.deepEqual(await bob.all('/v1/projects'), [], "bob sees none of alice's projects");
assert.equal((await bob.request('GET', `/v1/projects/${created.data.id}`)).status, 404, "alice's project is a 404 for bob");

const admin = new Api(url, env('TASKLOG_ADMIN_TOKEN'));
assert.equal((await admin.request('GET', '/v1/projects')).status, 200, 'the admin token from admin.token works');
console.log('smoke: ok');
