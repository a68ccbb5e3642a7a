// Runs one end-to-end test script against its own `tasklog serve`: a fresh home in a temp dir
// (embedded PostgreSQL), the admin token and two ordinary users, then SIGTERM and clean-up.
//
//   node run.mjs <script.mjs>      (ctest runs it through run.sh with the pinned Node 22)
//
// The script gets TASKLOG_URL, TASKLOG_DASHBOARD_URL (the dashboard URL `serve` printed, with the
// admin token in its fragment), TASKLOG_TOKEN (user "alice"), TASKLOG_OTHER_TOKEN (user "bob",
// who shares nothing with alice), TASKLOG_ADMIN_TOKEN, TASKLOG_HOME, E2E_TMP (a scratch dir it
// may use) and E2E_NODE (this Node). It fails by exiting non-zero.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Serve, createUser, readAdminToken, reachableDir, stopEmbeddedCluster, tasklogBinary } from './lib/serve.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
// Below ctest's TIMEOUT, so that a hanging test still cleans up its server and PostgreSQL.
const deadlineMs = Number(process.env.E2E_DEADLINE_SECONDS ?? 300) * 1000;

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exitCode = 1;
}

async function runScript(script, env) {
  // Its own process group: on the deadline we stop the script and whatever it started (a second
  // server) together.
  const child = spawn(process.execPath, [script], { stdio: 'inherit', env, detached: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`e2e: ${path.basename(script)} did not finish within ${deadlineMs / 1000} s; stopping it`);
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 30_000).unref();
  }, deadlineMs);
  const stopOnSignal = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  const status = await new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  clearTimeout(timer);
  process.off('SIGINT', stopOnSignal);
  process.off('SIGTERM', stopOnSignal);
  if (timedOut) return `timed out after ${deadlineMs / 1000} s`;
  if (status.code !== 0) return `exited with code ${status.code}${status.signal ? `, signal ${status.signal}` : ''}`;
  return null;
}

async function main() {
  const name = process.argv[2];
  if (!name) throw new Error('usage: node run.mjs <script.mjs>');
  const script = path.resolve(here, name);
  tasklogBinary();  // fail early, with the reason

  // /tmp, not $TMPDIR: PostgreSQL's OS user must be able to reach the home (see reachableDir).
  const tmp = reachableDir(mkdtempSync('/tmp/tasklog-e2e-'));
  const home = reachableDir(path.join(tmp, 'home'));
  const serve = new Serve({ name: 'serve', home });
  let started = false;
  try {
    const url = await serve.start();
    started = true;
    console.log(`e2e: tasklog serve (pid ${serve.child.pid}) listening on ${url}, home ${home}`);
    const admin = readAdminToken(home);
    const alice = await createUser(home, 'alice@e2e.test', 'Alice');
    const bob = await createUser(home, 'bob@e2e.test', 'Bob');
    const env = {
      ...process.env,
      TASKLOG_URL: url,
      TASKLOG_DASHBOARD_URL: serve.dashboardUrl,
      TASKLOG_TOKEN: alice.token,
      TASKLOG_USER_ID: alice.id,
      TASKLOG_OTHER_TOKEN: bob.token,
      TASKLOG_OTHER_USER_ID: bob.id,
      TASKLOG_ADMIN_TOKEN: admin,
      TASKLOG_HOME: home,
      E2E_TMP: tmp,
      E2E_NODE: process.execPath,
    };
    const failure = await runScript(script, env);
    if (failure) fail(`${name} ${failure}`);
  } catch (e) {
    fail(e.stack ?? String(e));
  } finally {
    const complaint = await serve.stop();
    if (complaint) {
      fail(complaint);
      await stopEmbeddedCluster(home);
    } else if (!started) {
      await stopEmbeddedCluster(home);
    }
    if (process.exitCode) console.error(`--- tasklog serve output (${serve.logFile}):\n${serve.tail(80)}\n--- end`);
    if (process.env.E2E_KEEP_TMP) console.error(`e2e: kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
