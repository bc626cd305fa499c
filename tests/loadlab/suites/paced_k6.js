// One request per virtual user per second, at most: a run of N users for T seconds makes at most
// N * (T + 1) requests however fast the machine, so loadlab's tests can count on "too few".
// The first request of each iteration goes to PROBE_URL when set (a test's own server).
import http from 'k6/http';
import { sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8000';

export default function () {
  http.get(`${__ENV.PROBE_URL || BASE_URL}/ping`, { tags: { name: '/ping' } });
  sleep(1);
}
