// The dashboard (GET /) in a real browser: Debian's headless Chromium driven by playwright-core.
// It signs in through the URL `tasklog serve` printed (admin token in the fragment), picks a
// project, and watches the board while another client (alice, REST from here) creates tasks and
// claims, blocks and completes them: cards appear and move between columns, the open task's
// detail follows. Then the time-travel slider goes back to earlier positions (a completed task
// back in progress, a later task not yet there), "Back to live" returns, and the form signs in
// with another token. Screenshots go to $E2E_OUTPUT_DIR. Every wait is a locator's auto-wait.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Api, env } from './lib/http.mjs';

const CHROMIUM = '/usr/bin/chromium';  // Debian's package; scripts/setup installs it
const url = env('TASKLOG_URL');
const dashboardUrl = env('TASKLOG_DASHBOARD_URL');
const admin = new Api(url, env('TASKLOG_ADMIN_TOKEN'));
const aliceToken = env('TASKLOG_TOKEN');
const alice = new Api(url, aliceToken);
const outputDir = process.env.E2E_OUTPUT_DIR ?? env('E2E_TMP');
mkdirSync(outputDir, { recursive: true });

assert.match(dashboardUrl, new RegExp(`^${url}/#token=tl_`), `serve prints the dashboard URL with the admin token: ${dashboardUrl}`);

// --- the world: two projects of the admin; alice is a member of the second and does the work.
const other = (await admin.post('/v1/projects', { name: 'elsewhere' })).data.id;
await admin.post(`/v1/projects/${other}/tasks`, { title: 'Unrelated chore' });
const P = (await admin.post('/v1/projects', { name: 'dashboard demo' })).data.id;
await admin.post(`/v1/projects/${P}/members`, { user_id: env('TASKLOG_USER_ID'), role: 'member' });
await admin.post(`/v1/projects/${P}/decisions`, { title: 'Storage', choice: 'PostgreSQL', rationale: 'one log, one lock', options: ['PostgreSQL', 'SQLite'] });

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
const problems = [];  // console errors (CSP violations among them) and uncaught exceptions
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  page.setDefaultTimeout(60_000);  // a sanitizer build on a busy 2-core machine
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The token never rides in a WebSocket URL (a proxy's access log would keep it).
  const socketUrls = [];
  page.on('websocket', (ws) => socketUrls.push(ws.url()));
  // Chromium's console names no URL for a failed load: record the answers >= 400 with theirs.
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
  const card = (status, title) => page.locator(`#board[data-mode="live"] .column[data-status="${status}"] .card`, { hasText: title });
  const pastCard = (status, title) => page.locator(`#board[data-mode="travel"] .column[data-status="${status}"] .card`, { hasText: title });

  // --- sign in through the printed URL; the token leaves the address bar for sessionStorage.
  const response = await page.goto(dashboardUrl);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /default-src 'self'/);
  await page.locator('#connection[data-state="live"]').waitFor();
  assert.equal(await page.evaluate(() => location.hash), '', 'the token is gone from the address bar');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tasklog.token')), admin.token);
  // A link with another token, opened in this signed-in tab, asks first (Playwright dismisses the
  // question): the session stays, and the fragment leaves the address bar all the same.
  const asked = [];
  page.once('dialog', (d) => { asked.push(d.message()); d.dismiss(); });
  await page.evaluate(() => { location.hash = 'token=tl_sent_by_someone_else'; });
  await page.waitForFunction(() => location.hash === '');
  assert.equal(asked.length, 1, 'the link asked before switching');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tasklog.token')), admin.token);
  await page.locator('#connection[data-state="live"]').waitFor();
  // The first project opens by itself; then pick the demo project.
  await card('todo', 'Unrelated chore').waitFor();
  await page.selectOption('#project', P);
  await card('todo', 'Unrelated chore').waitFor({ state: 'detached' });
  await page.locator('#connection[data-state="live"]').waitFor();
  await page.locator('#decisions li', { hasText: 'Storage' }).waitFor();

  // --- alice works; the board follows.
  const created = [];
  for (const [title, criteria] of [['Parse the input', ['parses JSON', 'rejects garbage']], ['Write the report', []], ['Ship it', []]]) {
    created.push((await alice.post(`/v1/projects/${P}/tasks`, { title, acceptance_criteria: criteria })).data);
  }
  const [parse, report, ship] = created;
  for (const t of created) await card('todo', t.title).waitFor();

  const claim = await alice.post(`/v1/tasks/${parse.id}/claim`, { agent: 'agent-7', lease_seconds: 600 });
  const lease = claim.lease.token;
  await card('in_progress', parse.title).filter({ hasText: 'agent-7' }).waitFor();
  await card('todo', parse.title).waitFor({ state: 'detached' });

  await alice.post(`/v1/tasks/${parse.id}/artifacts`, { type: 'test_report', summary: 'all 12 parser tests pass', lease_token: lease });
  await alice.post(`/v1/tasks/${parse.id}/messages`, { role: 'assistant', content: 'starting with the tokenizer', lease_token: lease });

  // The detail of the held task: criteria, holder, artifacts, messages, its own timeline.
  await card('in_progress', parse.title).click();
  const detail = page.locator(`#detail[data-task-id="${parse.id}"]`);
  await detail.locator('.criteria li.unmet', { hasText: 'parses JSON' }).waitFor();
  await detail.locator('.criteria li.unmet', { hasText: 'rejects garbage' }).waitFor();
  await detail.locator('.holder', { hasText: 'agent-7' }).waitFor();
  await detail.locator('.artifacts li', { hasText: 'all 12 parser tests pass' }).waitFor();
  await detail.locator('.messages li', { hasText: 'starting with the tokenizer' }).waitFor();
  await detail.locator('.task-timeline li', { hasText: 'TaskClaimed' }).waitFor();

  // Meanwhile another task gets blocked.
  const claimReport = await alice.post(`/v1/tasks/${report.id}/claim`, { agent: 'agent-9' });
  await card('in_progress', report.title).filter({ hasText: 'agent-9' }).waitFor();
  await alice.post(`/v1/tasks/${report.id}/block`, { reason: 'waiting for the numbers', lease_token: claimReport.lease.token });
  await card('blocked', report.title).waitFor();

  // Completion, with the open detail following live.
  await alice.post(`/v1/tasks/${parse.id}/criteria/0`, { evidence: 'json_test.cpp', lease_token: lease });
  await alice.post(`/v1/tasks/${parse.id}/criteria/1`, { evidence: 'garbage_test.cpp', lease_token: lease });
  const completed = await alice.post(`/v1/tasks/${parse.id}/complete`, { lease_token: lease, summary: 'parser done' });
  await card('done', parse.title).waitFor();
  await card('in_progress', parse.title).waitFor({ state: 'detached' });
  await detail.locator('.task-timeline li', { hasText: 'TaskCompleted' }).waitFor();
  await detail.locator('.criteria li.met', { hasText: 'rejects garbage' }).waitFor();
  await detail.locator('.lease', { hasText: 'not held' }).waitFor();
  await admin.post(`/v1/projects/${P}/checkpoints`, { label: 'parser milestone', summary: 'the parser is done' });
  await page.locator('#checkpoints li', { hasText: 'parser milestone' }).waitFor();
  await page.locator('#timeline li', { hasText: 'CheckpointCreated' }).waitFor();
  const live = path.join(outputDir, 'dashboard-live.png');
  await page.screenshot({ path: live, fullPage: true });

  // --- time travel: the slider's steps are the project's events, in position order.
  const events = await alice.all(`/v1/projects/${P}/events?after=0`);
  const stepOf = (position) => events.filter((e) => e.position <= position).length;
  await page.locator(`#slider[max="${events.length}"]`).waitFor();
  // As of the claim of "Parse the input": in progress again, "Write the report" still waiting.
  await page.locator('#slider').fill(String(stepOf(claim.position)));
  await page.locator('#travel-label', { hasText: `as of position ${claim.position}` }).waitFor();
  await pastCard('in_progress', parse.title).filter({ hasText: 'agent-7' }).waitFor();
  await pastCard('todo', report.title).waitFor();
  await pastCard('todo', ship.title).waitFor();
  assert.equal(await page.locator('#board .card').count(), 3, 'three tasks as of the claim');
  const past = path.join(outputDir, 'dashboard-time-travel.png');
  await page.screenshot({ path: past, fullPage: true });
  // As of the creation of "Write the report": "Ship it" does not exist yet. Reached by dragging
  // across thirty steps at once: the page asks for one past state at a time (the latest once the
  // running answer lands), so the server replays the log twice, not thirty times.
  const reportCreated = events.find((e) => e.task_id === report.id && e.type === 'TaskCreated').position;
  const replays = [];
  const countReplay = (r) => { if (r.url().includes('/context?at=')) replays.push(r.url()); };
  page.on('request', countReplay);
  await page.evaluate((last) => {
    const slider = document.getElementById('slider');
    const steps = Number(slider.max) - 1;  // the top step is "live", which asks for nothing
    for (let i = 0; i < 30; ++i) {
      slider.value = String(1 + (i % steps));
      slider.dispatchEvent(new Event('input'));
    }
    slider.value = String(last);
    slider.dispatchEvent(new Event('input'));
  }, stepOf(reportCreated));
  await page.locator('#travel-label', { hasText: `as of position ${reportCreated}` }).waitFor();
  await pastCard('todo', report.title).waitFor();
  await page.locator('#board .card', { hasText: ship.title }).waitFor({ state: 'detached' });
  assert.equal(await page.locator('#board .card').count(), 2, 'two tasks as of the second creation');
  page.off('request', countReplay);
  assert.ok(replays.length <= 2, `31 slider steps in one go asked for ${replays.length} past states`);
  // New events while travelling do not move the board; "Back to live" shows them.
  await alice.post(`/v1/tasks/${ship.id}/claim`, { agent: 'agent-3' });
  await page.locator('#timeline li', { hasText: 'TaskClaimed' }).nth(2).waitFor();
  assert.equal(await page.locator('#board[data-mode="travel"] .card').count(), 2, 'the past board stays as it was');
  await page.click('#live');
  await card('done', parse.title).waitFor();
  await card('in_progress', ship.title).filter({ hasText: 'agent-3' }).waitFor();
  assert.equal(completed.data.status, 'done');

  // --- sign out, then in through the form with another user's token.
  await page.click('#sign-out');
  await page.locator('#sign-in-form').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('tasklog.token')), null);
  await page.fill('#token', 'tl_not_a_token');
  await page.click('#sign-in-form button[type="submit"]');
  await page.locator('#notice', { hasText: 'refused' }).waitFor();
  await page.fill('#token', aliceToken);
  await page.click('#sign-in-form button[type="submit"]');
  // alice is a member of the demo project only.
  await card('done', parse.title).waitFor();
  assert.deepEqual(await page.locator('#project option').allTextContents(), ['dashboard demo']);

  // --- alice loses access while watching: the server ends the board's subscription with an error;
  // the page says so and stops, instead of showing "live" over a board that no longer moves, and
  // the project leaves her list.
  await page.locator('#connection[data-state="live"]').waitFor();
  await admin.ok('DELETE', `/v1/projects/${P}/members?user_id=${env('TASKLOG_USER_ID')}`);
  await page.locator('#connection[data-state="no access"]').waitFor();
  await page.locator('#notice', { hasText: 'Stream:' }).waitFor();
  await page.locator(`#project option[value="${P}"]`).waitFor({ state: 'detached' });

  // The only refusal: the unknown token (its GET /v1/projects, which Chromium also logs).
  const expected = (p) => p === 'HTTP 401 GET /v1/projects' || p.includes('status of 401');
  assert.ok(problems.some(expected), `the refused sign-in was seen: ${JSON.stringify(problems)}`);
  assert.deepEqual(problems.filter((p) => !expected(p)), [], 'no failed loads, script errors or CSP violations');
  assert.ok(socketUrls.length >= 2, `the page opened its streams: ${JSON.stringify(socketUrls)}`);
  assert.deepEqual(socketUrls.filter((u) => u.includes('tl_') || u.includes('access_token')), [], 'no token in a stream URL');
  console.log(`dashboard: ok — screenshots ${live} and ${past}`);
} finally {
  await browser.close();
}
