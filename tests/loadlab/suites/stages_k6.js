// A script that sets its own load, as k6's examples/stages.js does (up, flat, down), with its
// own thresholds as in k6's examples/thresholds_readme_example.js; shortened to seconds and
// pointed at BASE_URL so a test can run it against a local target.
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  stages: [
    // Ramp-up from 0 to 2 VUs in 1s
    { duration: '1s', target: 2 },
    // Stay at 2 VUs for 1s
    { duration: '1s', target: 2 },
    // Ramp-down to 0 VUs in 1s
    { duration: '1s', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<5000'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const res = http.get(`${__ENV.BASE_URL}/ping`, { tags: { name: '/ping' } });
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(0.5);
}
