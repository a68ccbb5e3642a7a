// The official MCP TypeScript SDK (Client + StreamableHTTPClientTransport) against /mcp: the
// handshake, tools/list, an agent's loop (project, tasks with dependencies, pick, artifact,
// complete, checkpoint, decision, timeline), resources, a domain refusal, and tenancy.
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Api, env } from './lib/http.mjs';

const url = env('TASKLOG_URL');
const token = env('TASKLOG_TOKEN');
const rest = new Api(url, token);

const EXPECTED_TOOLS = [
  'create_project', 'list_projects', 'get_context', 'create_task', 'list_tasks', 'update_task', 'pick_next_task',
  'claim_task', 'heartbeat_task', 'release_task', 'block_task', 'unblock_task', 'mark_criterion', 'evaluate_gates',
  'assert_in_scope', 'complete_task', 'fail_task', 'cancel_task', 'add_dependency', 'append_artifact',
  'append_message', 'create_checkpoint', 'record_decision', 'get_task_timeline',
];

async function connect(bearer, name) {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
  });
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

// A tool result's structured value: structuredContent, else the JSON of its text content.
function structured(result) {
  if (result.structuredContent !== undefined) return result.structuredContent;
  const text = result.content?.find((c) => c.type === 'text')?.text;
  assert.ok(text !== undefined, `a tool result without structuredContent or text: ${JSON.stringify(result)}`);
  return JSON.parse(text);
}

// The resource a command answered with (REST's envelope {data, …} or the bare resource).
const resourceOf = (value) => value?.data ?? value;

function makeCall(client) {
  return async (name, args) => {
    const result = await client.callTool({ name, arguments: args });
    assert.ok(!result.isError, `${name}(${JSON.stringify(args)}) failed: ${JSON.stringify(result)}`);
    return structured(result);
  };
}

// --- without a token: 401, before any MCP.
{
  const r = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.equal(r.status, 401, '/mcp without a bearer token');
}

const { client, transport } = await connect(token, 'tasklog-e2e-agent');
const server = client.getServerVersion();
assert.ok(server?.name, `initialize names the server: ${JSON.stringify(server)}`);
assert.ok(client.getServerCapabilities()?.tools, 'the server announces tools');
assert.ok(client.getServerCapabilities()?.resources, 'the server announces resources');
assert.equal(transport.protocolVersion, '2025-11-25', 'the SDK\'s newest version is negotiated');
await client.ping();

// --- tools/list: every tool of the issue, each with an object input schema.
const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
const missing = EXPECTED_TOOLS.filter((n) => !names.includes(n));
assert.deepEqual(missing, [], `tools missing from tools/list (it has ${names.join(', ')})`);
for (const tool of tools) {
  assert.equal(tool.inputSchema?.type, 'object', `${tool.name}: input schema`);
  assert.ok(tool.description && tool.description.length <= 200, `${tool.name}: a short description`);
}
const createTask = tools.find((t) => t.name === 'create_task');
assert.ok(createTask.inputSchema.required?.includes('title'), 'create_task requires a title (from the command schema)');
const listBytes = JSON.stringify(tools).length;

const call = makeCall(client);
const agent = 'agent-sdk';

// --- the agent's loop.
const project = resourceOf(await call('create_project', { name: 'mcp sdk', description: 'made by the SDK client' }));
assert.equal(project.name, 'mcp sdk');
const P = project.id;
const design = resourceOf(await call('create_task', { project_id: P, title: 'design', priority: 'high' }));
const build = resourceOf(await call('create_task', { project_id: P, title: 'build', dependencies: [design.id] }));
const docs = resourceOf(await call('create_task', { project_id: P, title: 'document', dependencies: [build.id] }));
assert.deepEqual(build.dependencies, [design.id]);

// Only `design` is ready: the others wait for their dependencies.
const picked = await call('pick_next_task', { project_id: P, agent });
assert.equal(resourceOf(picked).id, design.id, `pick_next_task hands out the only ready task: ${JSON.stringify(picked)}`);
const lease = picked.lease;
assert.ok(lease?.token, `pick_next_task returns the lease token in its structured result: ${JSON.stringify(picked)}`);
assert.equal(lease.agent, agent);
assert.equal(resourceOf(picked).status, 'in_progress');

// Nothing else is ready now: a second agent gets no task.
const none = await client.callTool({ name: 'pick_next_task', arguments: { project_id: P, agent: 'agent-other' } });
assert.ok(!none.isError, `nothing ready is not an error: ${JSON.stringify(none)}`);
const noneValue = none.structuredContent ?? null;
assert.ok(!resourceOf(noneValue)?.id, `nothing is ready, yet a task was handed out: ${JSON.stringify(none)}`);

const artifact = resourceOf(await call('append_artifact', {
  task_id: design.id, type: 'document', summary: 'the design', content: '# design\n', lease_token: lease.token,
}));
assert.equal(artifact.task_id, design.id);

// A stale lease is refused as a tool error carrying the REST API's code.
const stale = await client.callTool({
  name: 'complete_task',
  arguments: { task_id: design.id, lease_token: '00000000-0000-4000-8000-000000000000', summary: 'not mine' },
});
assert.equal(stale.isError, true, `a wrong lease token must be refused: ${JSON.stringify(stale)}`);
assert.match(JSON.stringify(stale), /lease_lost/, 'the refusal carries the stable code lease_lost');

const done = resourceOf(await call('complete_task', {
  task_id: design.id, lease_token: lease.token, summary: 'designed', artifact_ids: [artifact.id],
}));
assert.equal(done.status, 'done');

// A schema violation is a refusal the model can correct, not a protocol error.
const invalid = await client.callTool({ name: 'create_task', arguments: { project_id: P } });
assert.equal(invalid.isError, true, `create_task without a title: ${JSON.stringify(invalid)}`);
assert.equal(invalid.structuredContent?.error?.code, 'validation_failed', JSON.stringify(invalid));

// A retried call with the same idempotency key (params._meta) answers the first result again
// and appends nothing.
const keyed = { name: 'append_message', arguments: { task_id: docs.id, role: 'assistant', content: 'said once' },
                _meta: { idempotency_key: 'e2e-sdk-message-1' } };
const first = structured(await client.callTool(keyed));
const retried = structured(await client.callTool(keyed));
assert.deepEqual(retried, first, 'the retry answers the first result');
const docsMessages = await rest.all(`/v1/tasks/${docs.id}/messages`);
assert.equal(docsMessages.length, 1, 'a retried call appends nothing');

// Now `build` is ready.
const second = await call('pick_next_task', { project_id: P, agent });
assert.equal(resourceOf(second).id, build.id, 'after design is done, build is next');

const checkpoint = resourceOf(await call('create_checkpoint', {
  project_id: P, label: 'after design', summary: 'design done, build started', resume_instructions: 'finish build',
}));
assert.equal(checkpoint.label, 'after design');
const decision = resourceOf(await call('record_decision', {
  project_id: P, task_id: build.id, title: 'language', options: ['C++', 'Rust'], choice: 'C++', rationale: 'the codebase',
}));
assert.equal(decision.choice, 'C++');

// The timeline of design: created, claimed, artifact, completed, in log order.
const timeline = await call('get_task_timeline', { task_id: design.id });
const events = Array.isArray(timeline) ? timeline : (timeline.data ?? timeline.events);
assert.ok(Array.isArray(events), `get_task_timeline returns a list of events: ${JSON.stringify(timeline).slice(0, 500)}`);
const positions = events.map((e) => e.position);
assert.deepEqual(positions, [...positions].sort((a, b) => a - b), 'timeline in log order');
const restTimeline = await rest.all(`/v1/tasks/${design.id}/events?after=0`);
assert.deepEqual(events.map((e) => e.type), restTimeline.map((e) => e.type), 'the timeline is the task\'s events (as REST lists them)');
assert.ok(events.length >= 4, `design's timeline has its lifecycle: ${events.map((e) => e.type)}`);

// The same state through REST: the tools wrote to the one log.
assert.equal((await rest.get(`/v1/tasks/${design.id}`)).data.status, 'done');
assert.equal((await rest.get(`/v1/tasks/${build.id}`)).data.status, 'in_progress');

// --- resources.
const { resources } = await client.listResources();
assert.ok(resources.some((r) => r.uri === 'tasklog://projects'), `resources/list has tasklog://projects: ${resources.map((r) => r.uri)}`);
const { resourceTemplates } = await client.listResourceTemplates();
const templates = resourceTemplates.map((t) => t.uriTemplate);
for (const t of ['tasklog://project/{id}', 'tasklog://project/{id}/tasks', 'tasklog://task/{id}', 'tasklog://checkpoint/{id}']) {
  assert.ok(templates.includes(t), `resources/templates/list has ${t} (has ${templates.join(', ')})`);
}

async function readJson(uri) {
  const { contents } = await client.readResource({ uri });
  assert.equal(contents.length, 1, `${uri}: one content`);
  assert.equal(contents[0].uri, uri);
  assert.match(contents[0].mimeType ?? '', /json/, `${uri}: JSON`);
  return JSON.parse(contents[0].text);
}
const projectRead = resourceOf(await readJson(`tasklog://project/${P}`));
assert.equal(projectRead.id, P);
assert.equal(projectRead.name, 'mcp sdk');
const tasksRead = await readJson(`tasklog://project/${P}/tasks`);
const taskList = Array.isArray(tasksRead) ? tasksRead : tasksRead.data ?? tasksRead.tasks;
const statusById = Object.fromEntries(taskList.map((t) => [t.id, t.status]));
assert.deepEqual(statusById, { [design.id]: 'done', [build.id]: 'in_progress', [docs.id]: 'todo' },
                 `tasklog://project/${P}/tasks lists the three tasks with their statuses`);
const checkpointRead = resourceOf(await readJson(`tasklog://checkpoint/${checkpoint.id}`));
assert.equal(checkpointRead.label, 'after design');
const decisionsRead = await readJson(`tasklog://project/${P}/decisions`);
assert.ok(JSON.stringify(decisionsRead).includes(decision.id), 'the decisions resource lists the decision');

// --- tenancy: bob sees none of it, through tools or resources.
{
  const other = await connect(env('TASKLOG_OTHER_TOKEN'), 'tasklog-e2e-outsider');
  const foreign = await other.client.callTool({ name: 'get_task_timeline', arguments: { task_id: design.id } });
  assert.equal(foreign.isError, true, `bob reading alice's task timeline: ${JSON.stringify(foreign)}`);
  assert.match(JSON.stringify(foreign), /not_found/);
  await assert.rejects(other.client.readResource({ uri: `tasklog://project/${P}` }), 'bob reading alice\'s project resource is an error');
  const projects = await other.client.callTool({ name: 'list_projects', arguments: {} });
  assert.ok(!JSON.stringify(projects).includes(P), 'list_projects for bob does not name alice\'s project');
  await other.transport.terminateSession();
  await other.client.close();
}

// --- the end of the session: DELETE, after which the session id is unknown.
const sessionId = transport.sessionId;
await transport.terminateSession();
await client.close();
if (sessionId) {
  const after = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
               'Mcp-Session-Id': sessionId, 'MCP-Protocol-Version': '2025-11-25' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
  });
  assert.equal(after.status, 404, 'a request with an ended session id is answered 404');
}

console.log(`mcp_sdk: ok — server ${server.name} ${server.version ?? ''}, ${tools.length} tools (${listBytes} bytes of tools/list), ` +
            `session ${sessionId ?? '(none: stateless)'}`);
