/**
 * k6 suite for the platform: the same three kinds of users as locustfile.py.
 *
 * Why it exists: load_tests/README.md promises that `k6 run k6_script.js` runs the "Load Test"
 * (normal expected load) and that `--vus/--duration` and `--stage` turn it into the smoke,
 * stress and spike tests; loadlab runs this file the same way with `--out json=`.
 *
 * How the mix works: without CLI overrides, three `ramping-vus` scenarios (platform_user,
 * admin_user, heavy_user) share the configured stages 80:10:10, like Locust's weights 8:1:1.
 * k6 replaces every scenario with one `default` scenario when `--vus`, `--duration` or `--stage`
 * is given ("cli level configuration overrode scenarios configuration entirely"), so the default
 * function picks the user type from the VU number instead: in every block of ten VUs, VU 1 is a
 * PlatformUser, VU 2 an AdminUser, VU 3 a HeavyUser and VUs 4-10 PlatformUsers (8:1:1 again).
 *
 * Each VU registers its own account on its first iteration and works in its own workspace; the
 * admin uses the platform's admin key. Every request carries `X-Load-Test-Run`, is named by its
 * route template (tag `name`), tagged `kind:api` or, for HeavyUser's heavy work, `kind:heavy`
 * (each kind has its latency thresholds), and has its response checked (`checks`). Tasks carry
 * the same tags as in locustfile.py; every request that is not a GET belongs to a `write` task and
 * a VU registers only when a `write` task of its type is selected, so `-e EXCLUDE_TAGS=write`
 * sends GET requests only (reading with PLATFORM_API_KEY's account, else the admin key's).
 * `teardown` deletes the run's data with `DELETE /api/v1/admin/test-runs/{run_id}`.
 *
 * Configuration (`-e NAME=value`, or the environment, which k6 passes to `__ENV`):
 *   BASE_URL                target (default http://localhost:8000)
 *   PLATFORM_ADMIN_API_KEY  the platform's admin key (or ADMIN_API_KEY)
 *   PLATFORM_API_KEY        an existing account, for runs that exclude the write tag
 *   LOAD_TEST_RUN_ID        the run id sent as X-Load-Test-Run (default: generated)
 *   LOAD_TEST_CLEANUP=0     keep the run's data
 *   LOAD_TEST_THINK_SCALE   multiplies every think time (default 1; 0: none)
 *   TAGS, EXCLUDE_TAGS      comma-separated task tags to keep or drop, as Locust's --tags
 *   TIME_SCALE, VU_SCALE    shrink the configured stages (durations, VUs), e.g. for a quick try
 *   MIN_RPS                 adds the throughput threshold `http_reqs rate>MIN_RPS`
 */
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';

const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8000').replace(/\/+$/, '');
const ADMIN_KEY = __ENV.ADMIN_API_KEY || __ENV.PLATFORM_ADMIN_API_KEY || '';
const MEMBER_KEY = __ENV.PLATFORM_API_KEY || '';
const CLEANUP = !['0', 'false', 'no'].includes((__ENV.LOAD_TEST_CLEANUP || '1').toLowerCase());
const TIME_SCALE = positive('TIME_SCALE', 1);
const VU_SCALE = positive('VU_SCALE', 1);
const THINK_SCALE = positive('LOAD_TEST_THINK_SCALE', 1);
const ONLY_TAGS = tagList('TAGS');
const EXCLUDE_TAGS = tagList('EXCLUDE_TAGS');
const RUN_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const RUN_HEADER = 'X-Load-Test-Run';
const EXECUTION_MAX_POLLS = 60;
const EXECUTION_MAX_WAIT_S = 30;
const VOCABULARY = (
  'latency throughput database workflow pipeline cache index queue tenant scaling replica backup ' +
  'deploy rollback incident budget token model prompt invoice schema migration search ranking ' +
  'cluster gateway secret audit compliance report'
).split(' ');
const PAGE_KEYS = ['items', 'next_cursor'];
const WORKSPACE_KEYS = ['id', 'name', 'description', 'owner_id', 'created_at', 'updated_at'];
const WORKFLOW_KEYS = ['id', 'workspace_id', 'name', 'steps', 'created_at', 'updated_at'];
const EXECUTION_KEYS = ['id', 'workflow_id', 'workspace_id', 'status', 'step_results', 'cost_usd'];
const USER_KEYS = ['id', 'email', 'name', 'role', 'disabled', 'created_at'];
const AUDIT_KEYS = ['id', 'actor_id', 'action', 'target_type', 'created_at'];

// The seed's "Load Test": normal expected load, 100 users, shared 80:10:10.
const LOAD_TEST_STAGES = [
  { duration: 120, target: 100 },
  { duration: 300, target: 100 },
  { duration: 120, target: 0 },
];
const SHARES = { platform_user: 0.8, admin_user: 0.1, heavy_user: 0.1 };
const EXEC_OF = { platform_user: 'platformUser', admin_user: 'adminUser', heavy_user: 'heavyUser' };

function positive(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name}=${raw} is not a number >= 0`);
  }
  return value;
}

function tagList(name) {
  const raw = (__ENV[name] || '').trim();
  return raw ? raw.split(',').map((t) => t.trim()).filter((t) => t) : null;
}

function seconds(s) {
  return `${Math.max(1, Math.round(s * 1000 * TIME_SCALE))}ms`;
}

function scenarioFor(name) {
  const share = SHARES[name];
  return {
    executor: 'ramping-vus',
    exec: EXEC_OF[name],
    startVUs: 0,
    stages: LOAD_TEST_STAGES.map((stage) => ({
      duration: seconds(stage.duration),
      target: stage.target === 0 ? 0 : Math.max(1, Math.round(stage.target * share * VU_SCALE)),
    })),
    gracefulRampDown: seconds(30),
  };
}

function thresholds() {
  const result = {
    // The seed's latency targets hold for every interactive request. HeavyUser's generation,
    // big-dataset search and codebase analysis do bounded CPU work (up to the platform's 10 s
    // heavy budget): they get a budget of their own instead of hiding in the p99 of the rest.
    'http_req_duration{kind:api}': ['p(95)<500', 'p(99)<1000'],
    'http_req_duration{kind:heavy}': ['p(95)<5000'],
    http_req_failed: [
      'rate<0.001',
      // A dead or broken target: stop early instead of hammering it for the whole run.
      { threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '10s' },
    ],
    checks: ['rate>0.999'],
  };
  if (__ENV.MIN_RPS) result.http_reqs = [`rate>${positive('MIN_RPS', 0)}`];
  return result;
}

export const options = {
  scenarios: Object.fromEntries(Object.keys(SHARES).map((name) => [name, scenarioFor(name)])),
  thresholds: thresholds(),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

// --- requests and checks ---------------------------------------------------------------------

function randomHex(length) {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 0x100000000).toString(16);
  return out.slice(0, length);
}

function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

function words(count) {
  return Array.from({ length: count }, () => pick(VOCABULARY)).join(' ');
}

function query(path, params) {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/** Returns [problem, body]: problem is null when the response is what the contract says. */
function judge(res, expect, keys, extra) {
  if (res.status !== expect) return [`expected HTTP ${expect}, got ${res.status}`, null];
  let data;
  try {
    data = res.json();
  } catch (e) {
    return ['response body is not JSON', null];
  }
  if (keys.length && (data === null || typeof data !== 'object' || Array.isArray(data))) {
    return ['response body is not a JSON object', null];
  }
  const missing = keys.filter((key) => !(key in data));
  if (missing.length) return [`response body lacks ${missing.join(', ')}`, null];
  return [extra ? extra(data) : null, data];
}

function headersOf(s, json) {
  const headers = { [RUN_HEADER]: s.runId };
  if (s.apiKey) headers.Authorization = `Bearer ${s.apiKey}`;
  if (json) headers['Content-Type'] = 'application/json';
  return headers;
}

/** Sends one request and checks it; returns the JSON body, or null when anything was wrong. */
function call(s, method, path, name, { expect = 200, keys = [], body = null, extra, kind } = {}) {
  const payload = body === null ? null : JSON.stringify(body);
  const params = { headers: headersOf(s, body !== null), tags: { name, kind: kind || 'api' } };
  const res = http.request(method, `${BASE_URL}${path}`, payload, params);
  const [problem, data] = judge(res, expect, keys, extra);
  const label = `${method} ${name}`;
  check(res, { [`${label}: status ${expect}`]: (r) => r.status === expect });
  if (res.status === expect) {
    check(res, { [`${label}: body`]: () => problem === null });
  }
  return problem === null ? data : null;
}

function equals(key, value) {
  return (data) => (data[key] === value ? null : `expected ${key}=${value}, got ${data[key]}`);
}

function itemsHave(keys) {
  return (data) => {
    if (!Array.isArray(data.items)) return 'items is not a list';
    const bad = data.items.find((item) => keys.some((key) => !(key in item)));
    return bad ? `an item lacks one of ${keys.join(', ')}` : null;
  };
}

function page(s, path, name, itemKeys, kind) {
  return call(s, 'GET', path, name, { keys: PAGE_KEYS, extra: itemsHave(itemKeys), kind });
}

function health(s) {
  call(s, 'GET', '/health', '/health', { extra: equals('status', 'ok') });
}

function ready(s) {
  call(s, 'GET', '/health/ready', '/health/ready', { extra: equals('database', 'ok') });
}

function register(s) {
  const email = `${s.runId}-${randomHex(12)}@loadtest.example.com`.toLowerCase();
  const data = call(s, 'POST', '/api/v1/auth/register', '/api/v1/auth/register', {
    expect: 201,
    keys: ['user', 'api_key'],
    body: { email, name: `Load test user ${s.runId}` },
  });
  if (data === null) return false;
  s.apiKey = data.api_key;
  return true;
}

function createWorkspace(s) {
  const name = `ws-${randomHex(8)}`;
  const data = call(s, 'POST', '/api/v1/workspaces', '/api/v1/workspaces', {
    expect: 201,
    keys: WORKSPACE_KEYS,
    body: { name, description: 'load test workspace' },
    extra: equals('name', name),
  });
  return data === null ? null : data.id;
}

// --- tasks, tags and think time ----------------------------------------------------------------

/** Locust's rule for --tags/--exclude-tags, so both tools select the same tasks. */
function allows(tags) {
  if (ONLY_TAGS && !tags.some((t) => ONLY_TAGS.includes(t))) return false;
  return !(EXCLUDE_TAGS && tags.some((t) => EXCLUDE_TAGS.includes(t)));
}


function task(weight, tags, run) {
  return { weight, tags, run };
}

function weighted(tasks) {
  const total = tasks.reduce((sum, t) => sum + t.weight, 0);
  let roll = Math.random() * total;
  for (const t of tasks) {
    roll -= t.weight;
    if (roll < 0) return t;
  }
  return tasks[tasks.length - 1];
}

function think(range) {
  sleep((range[0] + Math.random() * (range[1] - range[0])) * THINK_SCALE);
}

function needsAccount(tasks) {
  return tasks.some((t) => !t.tags.includes('health'));
}

/** Whether a selected task changes state, so the user may register and create. */
function writes(tasks) {
  return tasks.some((t) => t.tags.includes('write'));
}

/** The account a run without writes reads with, since it may not register one. */
function existingKey() {
  return MEMBER_KEY || ADMIN_KEY;
}

// --- PlatformUser: normal load -----------------------------------------------------------------

function workspace(s) {
  if (s.workspaceId === null) listWorkspaces(s);
  return s.workspaceId;
}

function listWorkspaces(s) {
  const data = page(s, '/api/v1/workspaces?limit=20', '/api/v1/workspaces', WORKSPACE_KEYS);
  if (data !== null && data.items.length && s.workspaceId === null) {
    s.workspaceId = data.items[0].id;
  }
}

function getWorkspace(s) {
  const ws = workspace(s);
  if (ws === null) return;
  call(s, 'GET', `/api/v1/workspaces/${ws}`, '/api/v1/workspaces/[id]', {
    keys: WORKSPACE_KEYS,
    extra: equals('id', ws),
  });
}

function listWorkflows(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/workflows?limit=20`;
  const data = page(s, path, '/api/v1/workspaces/[id]/workflows', WORKFLOW_KEYS);
  if (data !== null && !s.workflowIds.length) s.workflowIds = data.items.map((i) => i.id);
}

function newWorkflow(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const steps = [
    { type: 'transform', name: 'shout', operation: 'uppercase' },
    {
      type: 'llm',
      name: 'summarise',
      model: pick(['small', 'medium']),
      prompt: `Summarise: ${words(12)}`,
      max_tokens: 64,
    },
    { type: 'transform', name: 'count', operation: 'word_count' },
  ];
  const name = `wf-${randomHex(8)}`;
  const path = `/api/v1/workspaces/${ws}/workflows`;
  const data = call(s, 'POST', path, '/api/v1/workspaces/[id]/workflows', {
    expect: 201,
    keys: WORKFLOW_KEYS,
    body: { name, description: 'load test workflow', steps },
    extra: equals('workspace_id', ws),
  });
  if (data !== null) s.workflowIds = [...s.workflowIds.slice(-9), data.id];
}

function runExecution(s) {
  if (workspace(s) === null || !s.workflowIds.length) return;
  const path = `/api/v1/workflows/${pick(s.workflowIds)}/executions`;
  const data = call(s, 'POST', path, '/api/v1/workflows/[id]/executions', {
    expect: 202,
    keys: ['id', 'status'],
    body: { input: { text: words(20) } },
    extra: equals('status', 'queued'),
  });
  if (data !== null) followExecution(s, data.id);
}

/** Poll like a client waiting for the result; the last poll fails if it never finished. */
function followExecution(s, id) {
  const started = Date.now();
  let delay = 0.1;
  for (let poll = 1; poll <= EXECUTION_MAX_POLLS; poll += 1) {
    const elapsed = (Date.now() - started) / 1000;
    const last = poll === EXECUTION_MAX_POLLS || elapsed + delay >= EXECUTION_MAX_WAIT_S;
    const data = call(s, 'GET', `/api/v1/executions/${id}`, '/api/v1/executions/[id]', {
      keys: EXECUTION_KEYS,
      extra: (d) => {
        if (d.id !== id) return `asked for execution ${id}, got ${d.id}`;
        if (d.status === 'failed') return `execution failed: ${d.error}`;
        if (last && d.status !== 'succeeded') return `execution still ${d.status}`;
        return null;
      },
    });
    if (data === null || data.status === 'succeeded' || data.status === 'failed') return;
    sleep(delay);
    delay = Math.min(delay * 1.5, 1);
  }
}

function listExecutions(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/executions?limit=20`;
  page(s, path, '/api/v1/workspaces/[id]/executions', EXECUTION_KEYS);
}

function newDocument(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const title = `Runbook: ${words(3)}`;
  const path = `/api/v1/workspaces/${ws}/documents`;
  call(s, 'POST', path, '/api/v1/workspaces/[id]/documents', {
    expect: 201,
    keys: ['id', 'title', 'tags'],
    body: { title, content: words(80), tags: ['load-test'] },
    extra: equals('title', title),
  });
}

function listDocuments(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const path = `/api/v1/workspaces/${ws}/documents?limit=20`;
  page(s, path, '/api/v1/workspaces/[id]/documents', ['id', 'title']);
}

function searchKnowledge(s) {
  const ws = workspace(s);
  if (ws === null) return;
  const q = words(1 + Math.floor(Math.random() * 2));
  const path = query(`/api/v1/workspaces/${ws}/search`, { q, limit: 10 });
  call(s, 'GET', path, '/api/v1/workspaces/[id]/search', {
    keys: ['query', 'total', 'items'],
    extra: searchCheck(q),
  });
}

function searchCheck(q) {
  return (d) => {
    if (d.query !== q) return `search answered ${d.query}, not ${q}`;
    if (!Array.isArray(d.items) || d.total < d.items.length) return 'total is below the hits';
    const scores = d.items.map((item) => item.score);
    const ranked = scores.every((score, i) => i === 0 || scores[i - 1] >= score);
    return ranked ? null : `search results are not best first: ${scores}`;
  };
}

const PLATFORM_TASKS = [
  task(2, ['health', 'read'], health),
  task(1, ['health', 'read'], ready),
  task(4, ['read'], listWorkspaces),
  task(3, ['read'], getWorkspace),
  task(1, ['write'], createWorkspace),
  task(3, ['read'], listWorkflows),
  task(2, ['write'], newWorkflow),
  task(2, ['write', 'executions'], runExecution),
  task(2, ['read', 'executions'], listExecutions),
  task(2, ['write'], newDocument),
  task(1, ['read'], listDocuments),
  task(4, ['read', 'search'], searchKnowledge),
].filter((t) => allows(t.tags));

function platformSession(s) {
  s.workspaceId = null;
  s.workflowIds = [];
  if (!needsAccount(PLATFORM_TASKS)) return true;
  if (!writes(PLATFORM_TASKS)) {
    s.apiKey = existingKey();
    return true;
  }
  if (!register(s)) return false;
  s.workspaceId = createWorkspace(s);
  if (s.workspaceId === null) return false;
  newWorkflow(s);
  newDocument(s);
  return true;
}

// --- AdminUser: administrative load ------------------------------------------------------------

function systemMetrics(s) {
  call(s, 'GET', '/api/v1/admin/metrics', '/api/v1/admin/metrics', {
    keys: ['counts', 'queue', 'database', 'process', 'uptime_s'],
  });
}

function auditLogs(s) {
  const action = pick([null, 'workspace.create', 'workflow.create']);
  const path = query('/api/v1/admin/audit-logs', { limit: 50, action });
  page(s, path, '/api/v1/admin/audit-logs', AUDIT_KEYS);
}

function listUsers(s) {
  page(s, '/api/v1/admin/users?limit=50', '/api/v1/admin/users', USER_KEYS);
}

function createUser(s) {
  const email = `${s.runId}-${randomHex(12)}@loadtest.example.com`.toLowerCase();
  const data = call(s, 'POST', '/api/v1/admin/users', '/api/v1/admin/users', {
    expect: 201,
    keys: ['user', 'api_key'],
    body: { email, name: 'Load test member', role: 'member' },
  });
  if (data !== null) s.createdUserIds.push(data.user.id);
}

function disableUser(s) {
  if (!s.createdUserIds.length) {
    createUser(s);
    return;
  }
  const id = s.createdUserIds.pop();
  call(s, 'PATCH', `/api/v1/admin/users/${id}`, '/api/v1/admin/users/[id]', {
    keys: USER_KEYS,
    body: { disabled: true },
    extra: equals('disabled', true),
  });
}

function costReport(s) {
  const groupBy = pick(['workspace', 'user', 'day']);
  const path = query('/api/v1/admin/costs', { group_by: groupBy });
  call(s, 'GET', path, '/api/v1/admin/costs', {
    keys: ['group_by', 'total_usd', 'groups'],
    extra: equals('group_by', groupBy),
  });
}

const ADMIN_TASKS = [
  task(1, ['health', 'read'], health),
  task(4, ['admin', 'read'], systemMetrics),
  task(3, ['admin', 'read'], auditLogs),
  task(2, ['admin', 'read'], listUsers),
  task(1, ['admin', 'write'], createUser),
  task(1, ['admin', 'write'], disableUser),
  task(2, ['admin', 'read'], costReport),
].filter((t) => allows(t.tags));

function adminSession(s) {
  s.createdUserIds = [];
  if (!needsAccount(ADMIN_TASKS)) return true;
  s.apiKey = ADMIN_KEY;
  const me = call(s, 'GET', '/api/v1/auth/me', '/api/v1/auth/me', {
    keys: USER_KEYS,
    extra: equals('role', 'admin'),
  });
  return me !== null;
}

// --- HeavyUser: resource-intensive load --------------------------------------------------------

function generateProject(s) {
  if (s.workspaceId === null) s.workspaceId = createWorkspace(s);
  if (s.workspaceId === null) return;
  const name = '/api/v1/workspaces/[id]/projects/generate';
  const body = {
    name: `svc_${randomHex(6)}`,
    template: pick(['fastapi-service', 'python-library', 'cli-tool']),
    files: pick([100, 200, 300]),
  };
  const url = `${BASE_URL}/api/v1/workspaces/${s.workspaceId}/projects/generate`;
  const res = http.post(url, JSON.stringify(body), {
    headers: headersOf(s, true),
    tags: { name, kind: 'heavy' },
    responseType: 'binary',
  });
  check(res, { [`POST ${name}: status 200`]: (r) => r.status === 200 });
  if (res.status === 200) {
    const head = new Uint8Array(res.body, 0, Math.min(4, res.body.byteLength));
    const zip = head.length === 4 && head[0] === 0x50 && head[1] === 0x4b;
    check(res, { [`POST ${name}: body`]: () => zip && head[2] === 3 && head[3] === 4 });
  }
}

/** Page through a filtered search of the big dataset, as an export would. */
function searchDataset(s) {
  if (s.datasetId === null) return;
  const low = Math.floor(Math.random() * 900);
  const category = s.categories.length ? pick(s.categories) : null;
  let cursor = null;
  for (let n = 0; n < 3; n += 1) {
    const path = query(`/api/v1/datasets/${s.datasetId}/search`, {
      category,
      min_value: low,
      max_value: low + 100,
      limit: 100,
      cursor,
    });
    const keys = ['id', 'name', 'category', 'value'];
    const data = page(s, path, '/api/v1/datasets/[id]/search', keys, 'heavy');
    if (data === null) return;
    if (!s.categories.length) {
      s.categories = [...new Set(data.items.map((item) => String(item.category)))];
    }
    cursor = data.next_cursor;
    if (!cursor) return;
  }
}

function analyzeCodebase(s) {
  if (!s.samples.length) return;
  const preferred = s.samples.filter((name) => name === 'platform-medium');
  call(s, 'POST', '/api/v1/analysis/codebase', '/api/v1/analysis/codebase', {
    body: { sample: pick([...preferred, ...preferred, ...preferred, ...s.samples]) },
    keys: ['files', 'lines', 'functions', 'classes', 'largest_functions'],
    kind: 'heavy',
  });
}

const HEAVY_TASKS = [
  task(1, ['health', 'read'], health),
  task(2, ['heavy', 'write'], generateProject),
  task(3, ['heavy', 'search', 'read'], searchDataset),
  task(2, ['heavy', 'write'], analyzeCodebase),
].filter((t) => allows(t.tags));

function heavySession(s) {
  Object.assign(s, { workspaceId: null, datasetId: null, samples: [], categories: [] });
  if (!needsAccount(HEAVY_TASKS)) return true;
  if (!writes(HEAVY_TASKS)) {
    s.apiKey = existingKey();
  } else {
    if (!register(s)) return false;
    s.workspaceId = createWorkspace(s);
  }
  const datasets = call(s, 'GET', '/api/v1/datasets', '/api/v1/datasets', {
    keys: ['items'],
    extra: itemsHave(['id', 'name', 'rows']),
  });
  if (datasets !== null && datasets.items.length) {
    const named = datasets.items.find((item) => item.name === 'default');
    s.datasetId = (named || datasets.items[0]).id;
  }
  const samples = call(s, 'GET', '/api/v1/analysis/samples', '/api/v1/analysis/samples', {
    keys: ['items'],
    extra: itemsHave(['name', 'files']),
  });
  if (samples !== null) s.samples = samples.items.map((item) => item.name);
  return true;
}

// --- the three user types, per VU ----------------------------------------------------------------

const USER_TYPES = {
  platform: { start: platformSession, tasks: PLATFORM_TASKS, thinkS: [0.5, 2] },
  admin: { start: adminSession, tasks: ADMIN_TASKS, thinkS: [2, 5] },
  heavy: { start: heavySession, tasks: HEAVY_TASKS, thinkS: [3, 8] },
};
const ALL_TASKS = [PLATFORM_TASKS, ADMIN_TASKS, HEAVY_TASKS];
const VU_SLOTS = ['platform', 'admin', 'heavy', ...Array(7).fill('platform')];
const LIVE_SLOTS = VU_SLOTS.filter((name) => USER_TYPES[name].tasks.length);

let session = null; // one per VU: each VU is its own JavaScript runtime

function iterate(typeName, data) {
  const type = USER_TYPES[typeName];
  if (!type.tasks.length) {
    sleep(1); // the tags left this user type nothing to do, as Locust would
    return;
  }
  if (session === null) {
    const fresh = { runId: data.runId, apiKey: null };
    if (!type.start(fresh)) {
      think(type.thinkS); // the failure is recorded; retry on the next iteration
      return;
    }
    session = fresh;
  }
  weighted(type.tasks).run(session);
  think(type.thinkS);
}

export function platformUser(data) {
  iterate('platform', data);
}

export function adminUser(data) {
  iterate('admin', data);
}

export function heavyUser(data) {
  iterate('heavy', data);
}

export default function (data) {
  const slots = LIVE_SLOTS.length ? LIVE_SLOTS : VU_SLOTS;
  iterate(slots[(exec.vu.idInTest - 1) % slots.length], data);
}

// --- setup and teardown ------------------------------------------------------------------------

function problems() {
  const found = [];
  if (!LIVE_SLOTS.length) found.push('TAGS/EXCLUDE_TAGS leave no task to run');
  if (needsAccount(ADMIN_TASKS) && !ADMIN_KEY) {
    found.push('AdminUser needs the platform admin key: set PLATFORM_ADMIN_API_KEY');
  }
  if (ALL_TASKS.some(writes) && CLEANUP && !ADMIN_KEY) {
    found.push('the cleanup needs PLATFORM_ADMIN_API_KEY (or -e LOAD_TEST_CLEANUP=0)');
  }
  const readers = [PLATFORM_TASKS, HEAVY_TASKS].filter((t) => needsAccount(t) && !writes(t));
  if (readers.length && !existingKey()) {
    found.push('a run without writes needs PLATFORM_API_KEY or PLATFORM_ADMIN_API_KEY');
  }
  return found;
}

export function setup() {
  const found = problems();
  const runId = __ENV.LOAD_TEST_RUN_ID || `k6-${randomHex(12)}`;
  if (!RUN_ID_PATTERN.test(runId)) found.push(`LOAD_TEST_RUN_ID ${runId}: use 1-64 [A-Za-z0-9_.-]`);
  if (found.length) exec.test.abort(found.join('; '));
  const res = http.get(`${BASE_URL}/health`, {
    headers: { [RUN_HEADER]: runId },
    tags: { name: '/health', kind: 'api' },
  });
  if (res.status !== 200) {
    console.error(`${BASE_URL}/health answered ${res.status || res.error}: is the platform up?`);
  }
  console.log(`load test run id: ${runId}`);
  return { runId };
}

export function teardown(data) {
  if (!ALL_TASKS.some(writes)) return; // nothing was created
  if (!CLEANUP) {
    console.log(`cleanup skipped: data of test run ${data.runId} kept`);
    return;
  }
  const url = `${BASE_URL}/api/v1/admin/test-runs/${data.runId}`;
  const res = http.del(url, null, {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    tags: { name: '/api/v1/admin/test-runs/[id]', kind: 'cleanup' },
    timeout: '120s',
  });
  if (res.status === 200) {
    console.log(`cleanup of test run ${data.runId}: deleted ${JSON.stringify(res.json().deleted)}`);
  } else {
    console.error(`cleanup of test run ${data.runId} failed (HTTP ${res.status}): DELETE ${url}`);
  }
}
