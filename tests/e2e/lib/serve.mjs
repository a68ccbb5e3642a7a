// Starts and stops real `tasklog serve` processes ($TASKLOG_BINARY) for the end-to-end tests, and
// runs the one-off tasklog commands they need (user create, db status) against the same home.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';

// A sanitizer build starting an embedded PostgreSQL (initdb included) on a busy 2-core machine.
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 60_000;

export function tasklogBinary() {
  const binary = process.env.TASKLOG_BINARY;
  if (!binary) throw new Error('TASKLOG_BINARY must name the tasklog executable (ctest sets it)');
  return binary;
}

// A directory PostgreSQL's OS user (`postgres`, when we run as root) can walk into: otherwise the
// launcher would put the cluster under /var/lib/tasklog, outside the temp dir we remove.
export function reachableDir(dir) {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  return dir;
}

// Resolves with the exit status ({code, signal}) of `child`, or null after `ms`.
function exitWithin(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

// Runs `tasklog <args>` to completion; resolves with {code, stdout, stderr}.
export function runTasklog(args, { env = {}, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(tasklogBinary(), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tasklog ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// `tasklog user create` on the cluster of `home` (it uses the running server's PostgreSQL through
// its socket); resolves with {id, email, token}.
export async function createUser(home, email, name) {
  const r = await runTasklog(['user', 'create', '--email', email, '--name', name, '--home', home]);
  const token = /^token: (\S+)$/m.exec(r.stdout)?.[1];
  const id = /^user_id: (\S+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || !token) {
    throw new Error(`tasklog user create --email ${email} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return { id, email, token };
}

// The conninfo of the embedded cluster of `home`, as `tasklog db status` prints it.
export async function embeddedConninfo(home) {
  const r = await runTasklog(['db', 'status', '--home', home]);
  const conninfo = /^conninfo: (.+)$/m.exec(r.stdout)?.[1];
  if (r.code !== 0 || !conninfo) {
    throw new Error(`tasklog db status --home ${home} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return conninfo.trim();
}

// One `tasklog serve --listen 127.0.0.1:0` process. Its output goes to <home>/../<name>.log and is
// kept in memory for error messages.
export class Serve {
  constructor({ name, home, databaseUrl }) {
    this.name = name;
    this.home = home;
    this.databaseUrl = databaseUrl;
    this.output = '';
    this.logFile = path.join(path.dirname(home), `${name}.log`);
    this.url = null;
    this.dashboardUrl = null;  // what `serve` prints for people: the page, with the admin token when it has one
    this.child = null;
  }

  async start() {
    const args = ['serve', '--listen', '127.0.0.1:0', '--home', this.home];
    if (this.databaseUrl) args.push('--database-url', this.databaseUrl);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const env = { ...process.env, TASKLOG_HOME: this.home };
    delete env.TASKLOG_DATABASE_URL;  // only what we pass counts
    this.child = spawn(tasklogBinary(), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const listening = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.output += chunk;
        log.write(chunk);
        // The dashboard line follows the listening line: waiting for it makes both known.
        const m = /tasklog listening on (http:\/\/[^\s]+)/.exec(this.output);
        const dashboard = /^dashboard: (http:\/\/\S+)$/m.exec(this.output);
        if (m && dashboard && !this.url) {
          this.url = m[1];
          this.dashboardUrl = dashboard[1];
          resolve(this.url);
        }
      };
      this.child.stdout.on('data', onData);
      this.child.stderr.on('data', onData);
      this.child.on('error', reject);
      this.child.on('exit', (code, signal) => {
        log.end();
        if (!this.url) reject(new Error(`${this.name}: tasklog serve exited (code ${code}, signal ${signal}) before listening:\n${this.tail()}`));
      });
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: tasklog serve did not print "listening on" within ${START_TIMEOUT_MS} ms:\n${this.tail()}`)), START_TIMEOUT_MS);
    });
    try {
      await Promise.race([listening, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return this.url;
  }

  tail(lines = 60) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  running() {
    return this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  // SIGTERM and wait for a clean exit; a server that does not go is killed. Resolves with a
  // complaint (string) when the shutdown was not clean, else null.
  async stop() {
    if (!this.child) return null;
    if (!this.running()) {
      const { exitCode: code, signalCode: signal } = this.child;
      return code === 0 ? null : `${this.name}: tasklog serve had already exited (code ${code}, signal ${signal})`;
    }
    this.child.kill('SIGTERM');
    const status = await exitWithin(this.child, STOP_TIMEOUT_MS);
    if (status === null) {
      this.child.kill('SIGKILL');
      await exitWithin(this.child, STOP_TIMEOUT_MS);
      return `${this.name}: tasklog serve did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM; killed`;
    }
    if (status.code !== 0) return `${this.name}: tasklog serve exited with code ${status.code}, signal ${status.signal} after SIGTERM`;
    return null;
  }
}

// A PostgreSQL left running by a server that had to be killed: stop it, so that removing the
// temp dir does not strand a postmaster.
export async function stopEmbeddedCluster(home) {
  try {
    await runTasklog(['db', 'stop', '--home', home], { timeoutMs: 60_000 });
  } catch {
    // best effort; the caller reports the original failure
  }
}

export function readAdminToken(home) {
  return readFileSync(path.join(home, 'admin.token'), 'utf8').trim();
}
