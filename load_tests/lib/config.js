/**
 * The run's configuration, read once from `__ENV` (`-e NAME=value`, or the environment).
 *
 * Every name is listed, with its meaning, in the comment at the top of k6_script.js. A value that
 * is not a number where one is needed stops k6 before any VU starts.
 */

export const BASE_URL = (__ENV.BASE_URL || 'http://localhost:8000').replace(/\/+$/, '');
export const ADMIN_KEY = __ENV.ADMIN_API_KEY || __ENV.PLATFORM_ADMIN_API_KEY || '';
export const MEMBER_KEY = __ENV.PLATFORM_API_KEY || '';
// Existing accounts' keys (`platform-api seed-keys`), shared out among the VUs of read-only runs.
export const MEMBER_KEYS = (__ENV.PLATFORM_API_KEYS || '').split(',').filter((key) => key);
const KEEP_DATA = ['0', 'false', 'no'];
export const CLEANUP = !KEEP_DATA.includes((__ENV.LOAD_TEST_CLEANUP || '1').toLowerCase());
export const TIME_SCALE = positive('TIME_SCALE', 1);
export const VU_SCALE = positive('VU_SCALE', 1);
export const THINK_SCALE = positive('LOAD_TEST_THINK_SCALE', 1);
export const ONLY_TAGS = tagList('TAGS');
export const EXCLUDE_TAGS = tagList('EXCLUDE_TAGS');
export const RUN_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const RUN_HEADER = 'X-Load-Test-Run';

export function positive(name, fallback) {
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
