/**
 * What a response must contain to count as a success, beyond its status code.
 *
 * A 200 with a wrong body is a failure: every request names the keys its body must have (from
 * docs/api.md) and may add a check of the values, which returns null when the body is right, else
 * one line saying what is wrong.
 */

export const PAGE_KEYS = ['items', 'next_cursor'];
export const WORKSPACE_KEYS = ['id', 'name', 'description', 'owner_id', 'created_at', 'updated_at'];
export const WORKFLOW_KEYS = ['id', 'workspace_id', 'name', 'steps', 'created_at', 'updated_at'];
export const EXECUTION_KEYS = [
  'id',
  'workflow_id',
  'workspace_id',
  'status',
  'step_results',
  'cost_usd',
];
export const USER_KEYS = ['id', 'email', 'name', 'role', 'disabled', 'created_at'];
export const AUDIT_KEYS = ['id', 'actor_id', 'action', 'target_type', 'created_at'];

/** Returns [problem, body]: problem is null when the response is what the contract says. */
export function judge(res, expect, keys, extra) {
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

export function equals(key, value) {
  return (data) => (data[key] === value ? null : `expected ${key}=${value}, got ${data[key]}`);
}

export function itemsHave(keys) {
  return (data) => {
    if (!Array.isArray(data.items)) return 'items is not a list';
    const bad = data.items.find((item) => keys.some((key) => !(key in item)));
    return bad ? `an item lacks one of ${keys.join(', ')}` : null;
  };
}
