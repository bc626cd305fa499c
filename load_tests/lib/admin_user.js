/**
 * AdminUser: administrative load with the platform's admin key (10% of the VUs).
 *
 * Dashboards (system metrics), audit logs, user management (creating members and disabling them)
 * and cost reports. The same tasks, weights and tags as platform_load/admin_user.py.
 */
import { ADMIN_KEY } from './config.js';
import { AUDIT_KEYS, USER_KEYS, equals } from './checks.js';
import { call, health, page, query } from './client.js';
import { pick, randomHex } from './random_data.js';
import { allows, needsAccount, task } from './tasks.js';

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

export const ADMIN_TASKS = [
  task(1, ['health', 'read'], health),
  task(4, ['admin', 'read'], systemMetrics),
  task(3, ['admin', 'read'], auditLogs),
  task(2, ['admin', 'read'], listUsers),
  task(1, ['admin', 'write'], createUser),
  task(1, ['admin', 'write'], disableUser),
  task(2, ['admin', 'read'], costReport),
].filter((t) => allows(t.tags));

export function adminSession(s) {
  s.createdUserIds = [];
  if (!needsAccount(ADMIN_TASKS)) return true;
  s.apiKey = ADMIN_KEY;
  const me = call(s, 'GET', '/api/v1/auth/me', '/api/v1/auth/me', {
    keys: USER_KEYS,
    extra: equals('role', 'admin'),
  });
  return me !== null;
}
