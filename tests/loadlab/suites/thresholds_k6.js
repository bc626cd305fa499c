// A script with its own options.thresholds, as k6 users write them: one that cannot pass
// (no response takes less than 0 ms) and one that must (at least one request is made).
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  thresholds: {
    http_req_duration: ['max<0'],
    http_reqs: ['count>0'],
  },
};

export default function () {
  http.get(`${__ENV.BASE_URL}/ping`, { tags: { name: '/ping' } });
  sleep(1);
}
