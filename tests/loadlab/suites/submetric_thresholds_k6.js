// Thresholds as k6's documentation writes them, one on a submetric that no request is tagged
// for (`staticAsset:yes`): k6 passes it without samples. The others have samples and units.
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  thresholds: {
    http_req_duration: ['p(95)<5000'],
    'http_req_duration{staticAsset:yes}': ['p(99)<500'],
    http_reqs: ['rate>0'],
    data_received: ['count>0'],
  },
};

export default function () {
  http.get(`${__ENV.BASE_URL}/ping`, { tags: { name: '/ping' } });
  sleep(0.5);
}
