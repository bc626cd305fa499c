// A tiny suite for loadlab's own tests: proves loadlab runs any k6 script against any host.
import http from 'k6/http';
import { sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8000';

export default function () {
  http.get(`${BASE_URL}/health/ready`, { tags: { name: '/health/ready' } });
  http.get(`${BASE_URL}/health`, { tags: { name: '/health' } });
  sleep(0.05);
}
