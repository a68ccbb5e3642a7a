// The MCP Inspector's CLI, run as a user runs it (npx @modelcontextprotocol/inspector --cli
// --transport http …), lists the tools and calls create_project in both protocol eras: legacy
// (initialize handshake, its default) and modern (2026-07-28: server/discover, --protocol-era modern).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, env } from './lib/http.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const url = env('TASKLOG_URL');
const token = env('TASKLOG_TOKEN');
const node = env('E2E_NODE');
const rest = new Api(url, token);
// The Inspector keeps a catalog and client state under ~/.mcp-inspector: not in the real home.
const home = path.join(env('E2E_TMP'), 'inspector-home');
mkdirSync(home, { recursive: true });

// npx from tests/e2e runs the locally installed Inspector (--no: never download one), with the
// pinned Node 22 first on PATH so that its `#!/usr/bin/env node` finds it.
function inspector(args) {
  const argv = ['--no', '--', '@modelcontextprotocol/inspector', '--cli', '--transport', 'http', `${url}/mcp`,
                '--header', `Authorization: Bearer ${token}`, ...args];
  const childEnv = { ...process.env, HOME: home, PATH: `${path.dirname(node)}:${process.env.PATH}`,
                     npm_config_update_notifier: 'false' };
  return new Promise((resolve, reject) => {
    const child = spawn('npx', argv, { cwd: here, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const shown = argv.map((a) => (a.startsWith('Authorization') ? 'Authorization: Bearer …' : a)).join(' ');
      resolve({ code, signal, stdout, stderr, shown: `npx ${shown}` });
    });
  });
}

// With --format json the CLI prints one object: {"result": …} on success, {"error": …} on stderr
// with a non-zero exit otherwise.
function result(run) {
  assert.equal(run.code, 0, `${run.shown} exited ${run.code}${run.signal ? ` (${run.signal})` : ''}:\n${run.stderr}${run.stdout}`);
  let printed;
  try {
    printed = JSON.parse(run.stdout);
  } catch {
    assert.fail(`${run.shown} printed no JSON on stdout:\n${run.stdout}\n--- stderr:\n${run.stderr}`);
  }
  assert.ok(printed.result, `${run.shown} printed no result: ${run.stdout}`);
  return printed.result;
}

// Every era and method is tried, and every failure reported, before the test fails.
const failures = [];
const passed = [];
async function check(what, body) {
  try {
    passed.push(`${what}: ${await body()}`);
  } catch (e) {
    failures.push(`${what}: ${e.message}`);
  }
}

for (const era of ['legacy', 'modern']) {
  const eraArgs = era === 'legacy' ? [] : ['--protocol-era', 'modern'];
  await check(`${era} tools/list`, async () => {
    const listed = result(await inspector([...eraArgs, '--format', 'json', '--method', 'tools/list']));
    const names = (listed.tools ?? []).map((t) => t.name);
    for (const n of ['create_project', 'create_task', 'pick_next_task', 'complete_task', 'get_task_timeline']) {
      assert.ok(names.includes(n), `tools/list lacks ${n} (has ${names.join(', ')})`);
    }
    return `${names.length} tools`;
  });
  await check(`${era} tools/call create_project`, async () => {
    const name = `inspector ${era}`;
    const called = result(await inspector([...eraArgs, '--format', 'json', '--method', 'tools/call',
                                           '--tool-name', 'create_project', '--tool-arg', `name=${name}`]));
    assert.notEqual(called.isError, true, `create_project failed: ${JSON.stringify(called)}`);
    assert.equal(called.structuredContent?.data?.name, name, `the result is the created project: ${JSON.stringify(called)}`);
    const projects = await rest.all('/v1/projects');
    assert.equal(projects.filter((p) => p.name === name).length, 1, 'the project the Inspector created exists once');
    return 'project created';
  });
}
if (failures.length) {
  console.error(`inspector: passed:\n  ${passed.join('\n  ')}`);
  assert.fail(`inspector: ${failures.length} of 4 failed:\n  ${failures.join('\n  ')}`);
}
console.log(`inspector: ok — ${passed.join('; ')}`);
