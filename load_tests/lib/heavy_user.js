/**
 * HeavyUser: resource-intensive load, each request bounded CPU work (10% of the VUs).
 *
 * Large project generation (a zip of up to 300 files), paged searches of the big dataset and
 * codebase analysis of the seeded samples, all tagged `kind:heavy` (their own latency threshold).
 * The same tasks, weights and tags as platform_load/heavy_user.py.
 */
import http from 'k6/http';
import { check } from 'k6';

import { BASE_URL } from './config.js';
import { itemsHave } from './checks.js';
import { call, createWorkspace, headersOf, health, page, query, register } from './client.js';
import { pick, randomHex } from './random_data.js';
import { allows, existingKey, needsAccount, task, writes } from './tasks.js';

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

export const HEAVY_TASKS = [
  task(1, ['health', 'read'], health),
  task(2, ['heavy', 'write'], generateProject),
  task(3, ['heavy', 'search', 'read'], searchDataset),
  task(2, ['heavy', 'write'], analyzeCodebase),
].filter((t) => allows(t.tags));

export function heavySession(s) {
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
