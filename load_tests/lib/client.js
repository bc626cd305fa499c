/**
 * Requests as the platform expects them: authenticated, tagged with the run, named and checked.
 *
 * Every request carries `X-Load-Test-Run`, is named by its route template (tag `name`, so metrics
 * stay bounded whatever the ids), is tagged `kind:api` unless the caller says `kind:heavy`, and
 * records two checks: its status, then (when the status is right) its body. Also the few requests
 * every user type makes: health checks, registration, a workspace.
 */
import http from 'k6/http';
import { check } from 'k6';

import { BASE_URL, RUN_HEADER } from './config.js';
import { PAGE_KEYS, WORKSPACE_KEYS, equals, itemsHave, judge } from './checks.js';
import { randomHex } from './random_data.js';

export function query(path, params) {
  const parts = Object.entries(params)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`);
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

export function headersOf(s, json) {
  const headers = { [RUN_HEADER]: s.runId };
  if (s.apiKey) headers.Authorization = `Bearer ${s.apiKey}`;
  if (json) headers['Content-Type'] = 'application/json';
  return headers;
}

/** Sends one request and checks it; returns the JSON body, or null when anything was wrong. */
export function call(
  s,
  method,
  path,
  name,
  { expect = 200, keys = [], body = null, extra, kind } = {},
) {
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

export function page(s, path, name, itemKeys, kind) {
  return call(s, 'GET', path, name, { keys: PAGE_KEYS, extra: itemsHave(itemKeys), kind });
}

export function health(s) {
  call(s, 'GET', '/health', '/health', { extra: equals('status', 'ok') });
}

export function ready(s) {
  call(s, 'GET', '/health/ready', '/health/ready', { extra: equals('database', 'ok') });
}

export function register(s) {
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

export function createWorkspace(s) {
  const name = `ws-${randomHex(8)}`;
  const data = call(s, 'POST', '/api/v1/workspaces', '/api/v1/workspaces', {
    expect: 201,
    keys: WORKSPACE_KEYS,
    body: { name, description: 'load test workspace' },
    extra: equals('name', name),
  });
  return data === null ? null : data.id;
}
