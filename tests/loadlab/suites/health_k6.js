// A tiny suite for loadlab's own tests: proves loadlab runs any k6 script against any host.
// It reads the admin key loadlab passes, so an authenticated route (which the platform's fault
// injection can slow down or break) sits beside the never-faulted /health. Like the seed's script,
// it honours loadlab's EXCLUDE_TAGS (k6 has no task tags of its own).
import http from 'k6/http';
import { sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8000';
const HEADERS = { Authorization: `Bearer ${__ENV.PLATFORM_ADMIN_API_KEY || ''}` };
const EXCLUDED = (__ENV.EXCLUDE_TAGS || '').split(',');

export default function () {
  http.get(`${BASE_URL}/api/v1/auth/me`, { headers: HEADERS, tags: { name: '/api/v1/auth/me' } });
  if (!EXCLUDED.includes('health')) {
    http.get(`${BASE_URL}/health`, { tags: { name: '/health' } });
  }
  sleep(0.05);
}
