// tasklog dashboard: a board per project that moves live, a task's detail, decisions and
// checkpoints, the event timeline and a time-travel slider. It uses only the REST API and the
// /v1/stream WebSocket (docs/http-api.md, docs/dashboard.md). Every text from the server goes into
// the page through textContent (el() below), never as HTML.
'use strict';

// The columns: the task statuses of the domain (core/task.hpp, TaskStatus), in that order.
const STATUSES = ['todo', 'in_progress', 'blocked', 'done', 'failed', 'cancelled'];
const TIMELINE_LIMIT = 300;  // events kept on screen; the slider still knows every position
const TOKEN_KEY = 'tasklog.token';
const PROJECT_KEY = 'tasklog.project';

const $ = (id) => document.getElementById(id);

// document.createElement with attributes and children; strings become text nodes.
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') node.className = value;
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const state = {
  token: null,
  project: null,
  generation: 0,         // bumped on every project switch: answers for an older one are dropped
  tasks: new Map(),      // live tasks (GET /v1/tasks/{id} shape) by id, in creation order
  events: [],            // {position, type, task_id, recorded_at} of the project, in position order
  caughtUp: false,
  socket: null,
  reconnectDelay: 500,
  travel: null,          // null while live; else {index, position, cards}
  travelRequest: 0,
  selected: null,        // the task shown in the detail panel
};

// ---- REST ----

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (response.status === 401) {
    signOut('The token was refused (unknown, revoked or expired): sign in again.');
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// Every item of a cursor-paged list.
async function all(path) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(`${path}${path.includes('?') ? '&' : '?'}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

// One call of f at a time: a call made while one runs waits, and of the calls that waited only the
// last runs (with its arguments) once the running one is done. For loads that any later one makes
// stale — a slider dragged across a hundred steps, an open detail under a burst of events, the
// records after several decisions — so that the server replays or reads once per answer the page
// can show, not once per step, and an older answer never lands after a newer one.
function latestOnly(f) {
  let running = false;
  let waiting = null;  // the arguments of the last call that arrived while running
  return async function call(...args) {
    if (running) {
      waiting = args;
      return;
    }
    running = true;
    try {
      await f(...args);
    } finally {
      running = false;
      if (waiting) {
        const next = waiting;
        waiting = null;
        call(...next);
      }
    }
  };
}

// Runs f unless the project changed meanwhile; reports failures in the notice line.
async function forProject(f) {
  const generation = state.generation;
  try {
    const result = await f();
    return generation === state.generation ? result : undefined;
  } catch (e) {
    if (generation === state.generation && !(e instanceof ApiError && e.status === 401)) notice(e.message);
    return undefined;
  }
}

function notice(text) {
  $('notice').textContent = text ?? '';
  $('notice').hidden = !text;
}

function setConnection(text) {
  $('connection').textContent = text;
  $('connection').dataset.state = text;
}

// ---- sign-in ----

// The URL `tasklog serve` prints carries the token in its fragment (#token=…): never sent to the
// server; moved to sessionStorage and removed from the address bar and the history. A link opened
// in a tab that is signed in with another token asks first: anyone can send a viewer a link, and
// following it must not switch who they are (or, with a bad token, sign them out) unasked.
function takeTokenFromUrl() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get('token');
  if (!token) return null;
  history.replaceState(null, '', location.pathname + location.search);
  const current = sessionStorage.getItem(TOKEN_KEY);
  if (current && current !== token && !window.confirm('Sign in with the token from this link instead of the current one?')) {
    return null;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  return token;
}

async function signIn(token) {
  state.token = token;
  let projects;
  try {
    projects = await all('/v1/projects');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) notice(`Sign-in failed: ${e.message}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  notice(null);
  $('sign-in').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  $('project-picker').hidden = false;
  fillProjects(projects);
  const remembered = sessionStorage.getItem(PROJECT_KEY);
  const choice = projects.find((p) => p.id === remembered) ?? projects[0];
  if (choice) {
    $('project').value = choice.id;
    openProject(choice.id);
  }
}

function signOut(message) {
  closeStream();
  state.token = null;
  state.generation++;
  sessionStorage.removeItem(TOKEN_KEY);
  $('sign-in').hidden = false;
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('project-picker').hidden = true;
  setConnection('offline');
  notice(message);
}

function fillProjects(projects) {
  const select = $('project');
  const current = select.value;
  select.replaceChildren(...projects.map((p) => el('option', { value: p.id }, p.name)));
  if (projects.some((p) => p.id === current)) select.value = current;
  $('no-projects').hidden = projects.length > 0;
}

// ---- a project: stream, board, records ----

function openProject(id) {
  closeStream();
  state.generation++;
  Object.assign(state, { project: id, tasks: new Map(), events: [], caughtUp: false, travel: null, selected: null });
  sessionStorage.setItem(PROJECT_KEY, id);
  $('timeline').replaceChildren();
  $('decisions').replaceChildren();
  $('checkpoints').replaceChildren();
  $('detail').hidden = true;
  updateSlider();
  renderBoard();
  connectStream();
}

// One subscription to the project from the start of its log: the catch-up fills the timeline and
// the slider's positions; at caught_up the board is loaded; every later event refreshes what it
// touched. On a dropped connection it resumes after the last event received (no gap, no repeat).
function connectStream() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const after = state.events.length ? state.events[state.events.length - 1].position : 0;
  const query = new URLSearchParams({ project: state.project, after: String(after), id: 'board' });
  // The token rides in a subprotocol (browsers cannot set a WebSocket's headers): in the URL it
  // would reach the access log of any proxy in front of tasklog.
  const socket = new WebSocket(`${scheme}://${location.host}/v1/stream?${query}`, ['tasklog', `tasklog.token.${state.token}`]);
  state.socket = socket;
  setConnection(state.caughtUp ? 'reconnecting' : 'connecting');
  socket.addEventListener('message', (m) => {
    if (state.socket === socket) onStreamMessage(JSON.parse(m.data));
  });
  socket.addEventListener('close', () => {
    if (state.socket !== socket) return;  // closed on purpose
    setConnection('reconnecting');
    setTimeout(async () => {
      // A refused upgrade looks like any close: a REST call tells a revoked token (signs out).
      await api('/v1/projects?limit=1').catch(() => null);
      if (state.socket === socket) connectStream();
    }, state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 10_000);
  });
}

function closeStream() {
  const socket = state.socket;
  state.socket = null;
  if (socket) socket.close(1000, 'done');
}

function onStreamMessage(message) {
  if (message.type === 'event') {
    const event = message.event;
    const last = state.events[state.events.length - 1];
    if (last && event.position <= last.position) return;
    state.events.push({ position: event.position, type: event.type, task_id: event.task_id, recorded_at: event.recorded_at });
    addTimelineItem(event);
    updateSlider();
    if (state.caughtUp) applyEvent(event);
  } else if (message.type === 'caught_up') {
    state.reconnectDelay = 500;
    setConnection('live');
    if ($('notice').textContent.startsWith('Stream:')) notice(null);  // the trouble it reported is over
    if (!state.caughtUp) {
      state.caughtUp = true;
      loadBoard();
      loadRecords();
    }
  } else if (message.type === 'error') {
    notice(`Stream: ${message.error?.message ?? 'error'}`);
    // The server ended the board's subscription: the socket stays open but nothing more comes, so
    // the badge must not say "live". Access lost (not_found, forbidden) is final: stop, and show the
    // projects the user still has. Anything else (a read it could not make): reconnect, resuming
    // after the last event.
    if (message.id !== 'board' || !state.socket) return;
    if (message.error?.code === 'not_found' || message.error?.code === 'forbidden') {
      closeStream();
      setConnection('no access');
      all('/v1/projects').then(fillProjects).catch(() => null);
    } else {
      state.socket.close(4000, 'resubscribe');
    }
  }
}

// A live event: refresh the task it belongs to, the open detail and the records it changed.
function applyEvent(event) {
  if (event.task_id) {
    refreshTask(event.task_id);
    if (event.task_id === state.selected) refreshDetail(state.selected);
  }
  if (/^(Decision|Checkpoint)/.test(event.type)) loadRecords();
}

async function loadBoard() {
  const tasks = await forProject(() => all(`/v1/projects/${state.project}/tasks`));
  if (tasks) tasks.forEach(upsertTask);
}

// One fetch per task at a time; events arriving meanwhile ask for one more after it.
const refreshing = new Map();
async function refreshTask(id) {
  const key = `${state.generation}/${id}`;
  if (refreshing.has(key)) {
    refreshing.get(key).again = true;
    return;
  }
  const entry = { again: true };
  refreshing.set(key, entry);
  while (entry.again) {
    entry.again = false;
    const answer = await forProject(() => api(`/v1/tasks/${id}`));
    if (answer) upsertTask(answer.data);
  }
  refreshing.delete(key);
}

// Newer versions win: the list and single reads may answer out of order.
function upsertTask(task) {
  const known = state.tasks.get(task.id);
  if (known && known.version > task.version) return;
  state.tasks.set(task.id, task);
  // Timeline entries written before the task was known show its id: give them the title.
  for (const link of document.querySelectorAll(`[data-task-link="${task.id}"]`)) link.textContent = task.title;
  if (!state.travel) scheduleRender();
}

const loadRecords = latestOnly(async () => {
  const records = await forProject(() => Promise.all([
    all(`/v1/projects/${state.project}/decisions`),
    all(`/v1/projects/${state.project}/checkpoints`),
  ]));
  if (!records) return;
  const [decisions, checkpoints] = records;
  $('decisions').replaceChildren(...decisions.map((d) => el('li', { class: d.superseded_by ? 'superseded' : null },
    el('strong', {}, d.title), ' — ', d.choice,
    d.rationale ? el('div', { class: 'muted' }, d.rationale) : null,
    d.options.length ? el('div', { class: 'muted' }, `options: ${d.options.join(', ')}`) : null)));
  $('checkpoints').replaceChildren(...checkpoints.map((c) => el('li', {},
    el('strong', {}, c.label), ` at position ${c.log_position} — `, c.summary,
    c.repo_ref ? el('div', { class: 'muted' }, c.repo_ref) : null)));
});

// ---- the board ----

// A card's fields, from a live task or from a context's task summary (time travel).
function liveCard(task) {
  const criteria = task.acceptance_criteria ?? [];
  return { id: task.id, title: task.title, status: task.status, priority: task.priority, agent: task.lease?.agent ?? null,
           met: criteria.filter((c) => c.met).length, total: criteria.length };
}

function pastCard(task, agents) {
  return { id: task.id, title: task.title, status: task.status, priority: task.priority, agent: agents.get(task.id) ?? null,
           met: task.criteria_met, total: task.criteria_total };
}

// A burst of updates (a whole list, a flurry of events) draws the board once per frame.
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderBoard();
  });
}

function renderBoard() {
  const cards = state.travel ? state.travel.cards : [...state.tasks.values()].map(liveCard);
  const board = $('board');
  board.dataset.mode = state.travel ? 'travel' : 'live';
  board.replaceChildren(...STATUSES.map((status) => {
    const inColumn = cards.filter((c) => c.status === status);
    return el('section', { class: 'column', 'data-status': status },
      el('h2', {}, status.replace('_', ' '), el('span', { class: 'count' }, String(inColumn.length))),
      el('div', { class: 'cards' }, inColumn.map(cardElement)));
  }));
}

function cardElement(card) {
  const open = () => showDetail(card.id);
  return el('article', {
    class: card.id === state.selected ? 'card selected' : 'card', 'data-task-id': card.id, tabindex: 0, role: 'button',
    onclick: open, onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') open(); },
  },
  el('h3', {}, card.title),
  el('div', { class: 'meta' },
    el('span', {}, card.priority),
    card.agent ? el('span', { class: 'agent' }, `⚙ ${card.agent}`) : null,
    card.total ? el('span', {}, `${card.met}/${card.total} criteria`) : null));
}

// ---- the timeline ----

function addTimelineItem(event) {
  const list = $('timeline');
  const task = event.task_id ? state.tasks.get(event.task_id) : null;
  const item = el('li', { 'data-position': event.position },
    el('span', { class: 'pos' }, `#${event.position} `),
    el('span', { class: 'type' }, event.type), ' ',
    event.task_id ? el('button', { type: 'button', class: 'task-link', 'data-task-link': event.task_id, onclick: () => showDetail(event.task_id) },
      task ? task.title : event.task_id.slice(0, 8)) : null,
    el('span', { class: 'muted' }, ` ${formatTime(event.recorded_at)}`));
  list.prepend(item);
  while (list.childElementCount > TIMELINE_LIMIT) list.lastElementChild.remove();
}

function formatTime(text) {
  return text ? new Date(text).toLocaleTimeString() : '';
}

// ---- time travel ----

// The slider's steps are the project's events: step i shows the board as of the i-th event's
// position (GET /v1/projects/{id}/context?at=P). The last step is the live board.
function updateSlider() {
  const slider = $('slider');
  slider.max = String(state.events.length);
  slider.min = state.events.length ? '1' : '0';
  slider.disabled = state.events.length === 0;
  if (!state.travel) slider.value = slider.max;
  $('live').disabled = !state.travel;
  $('travel-label').textContent = state.travel
    ? `as of position ${state.travel.position} (${state.events[state.travel.index - 1].type})`
    : `live — ${state.events.length} events`;
}

// The request number and project are taken when the slider moves, not when its load starts: a
// step still waiting when "Back to live" is pressed or another project opens is dropped.
function travelTo(index) {
  travelLoad(index, ++state.travelRequest, state.generation);
}

const travelLoad = latestOnly(async (index, request, generation) => {
  if (request !== state.travelRequest || generation !== state.generation) return;
  if (index >= state.events.length) {
    goLive();
    return;
  }
  const { position } = state.events[index - 1];
  const context = await forProject(() => api(`/v1/projects/${state.project}/context?at=${position}`));
  if (!context || request !== state.travelRequest) return;
  const agents = new Map(context.data.active_tasks.map((a) => [a.id, a.agent]));
  state.travel = { index, position, cards: context.data.tasks.map((t) => pastCard(t, agents)) };
  updateSlider();
  renderBoard();
});

function goLive() {
  state.travelRequest++;
  state.travel = null;
  updateSlider();
  renderBoard();
}

// ---- a task's detail ----

let detailRequest = 0;
async function showDetail(id) {
  state.selected = id;
  const request = ++detailRequest;
  const loaded = await forProject(() => Promise.all([
    api(`/v1/tasks/${id}`), all(`/v1/tasks/${id}/artifacts`), all(`/v1/tasks/${id}/messages`), all(`/v1/tasks/${id}/events?after=0`),
  ]));
  if (!loaded || request !== detailRequest) return;
  const [{ data: task }, artifacts, messages, events] = loaded;
  upsertTask(task);
  const lease = task.lease;
  const panel = $('detail');
  panel.dataset.taskId = task.id;
  panel.replaceChildren(...[
    el('header', {},
      el('div', {}, el('h2', {}, task.title),
        el('div', { class: 'status' }, `${task.status.replace('_', ' ')} · ${task.priority} · ${task.type} · version ${task.version}`)),
      el('button', { type: 'button', onclick: closeDetail }, 'Close')),
    task.description ? el('p', {}, task.description) : null,
    task.block_reason ? el('p', {}, `Blocked: ${task.block_reason}${task.needs_human ? ' (needs a human)' : ''}`) : null,
    task.failure_reason ? el('p', {}, `Failure: ${task.failure_reason}`) : null,
    task.completion_summary ? el('p', {}, `Summary: ${task.completion_summary}`) : null,
    el('h3', {}, 'Acceptance criteria'),
    list('criteria', task.acceptance_criteria, (c) => el('li', { class: c.met ? 'met' : 'unmet' },
      c.text, c.met && c.evidence ? el('span', { class: 'muted' }, ` — ${c.evidence}`) : null)),
    el('h3', {}, 'Lease'),
    el('p', { class: 'lease' }, lease
      ? [`held by `, el('strong', { class: 'holder' }, lease.agent), ` · attempt ${lease.attempt} · expires ${formatTime(lease.expires_at)}`]
      : `not held (${task.attempts} attempts so far)`),
    el('h3', {}, 'Artifacts'),
    list('artifacts', artifacts, (a) => el('li', {}, el('strong', {}, a.type), ` ${a.summary}`,
      a.ref ? el('span', { class: 'muted' }, ` (${a.ref})`) : null)),
    el('h3', {}, 'Messages'),
    list('messages', messages, (m) => el('li', {}, el('strong', {}, `${m.role}: `), m.content)),
    el('h3', {}, 'Timeline'),
    list('task-timeline timeline', events, (e) => el('li', {},
      el('span', { class: 'pos' }, `#${e.position} `), el('span', { class: 'type' }, e.type),
      el('span', { class: 'muted' }, ` ${formatTime(e.recorded_at)}`))),
  ].filter(Boolean));
  panel.hidden = false;
  renderBoard();
}

function list(className, items, render) {
  return items.length ? el('ul', { class: className }, items.map(render)) : el('p', { class: `${className} muted` }, 'none');
}

// The open detail again after a live event of its task (one load at a time; see latestOnly).
const refreshDetail = latestOnly(async (id) => {
  if (state.selected === id) await showDetail(id);
});

function closeDetail() {
  state.selected = null;
  detailRequest++;
  $('detail').hidden = true;
  renderBoard();
}

// ---- wiring ----

function start() {
  takeTokenFromUrl();
  $('sign-in-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn($('token').value.trim());
    $('token').value = '';
  });
  $('sign-out').addEventListener('click', () => signOut(null));
  // Another printed URL opened in this tab: sign in with its token.
  window.addEventListener('hashchange', () => {
    const token = takeTokenFromUrl();
    if (token) {
      closeStream();
      signIn(token);
    }
  });
  $('project').addEventListener('change', (e) => openProject(e.target.value));
  // Projects created since sign-in show up when the list is opened.
  $('project').addEventListener('focus', async () => {
    const projects = await all('/v1/projects').catch(() => null);
    if (!projects) return;
    fillProjects(projects);
    if (!state.project && projects[0]) openProject(projects[0].id);
  });
  $('slider').addEventListener('input', (e) => travelTo(Number(e.target.value)));
  $('live').addEventListener('click', goLive);
  renderBoard();
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) signIn(token);
}

start();
