// A script's own stages after its thresholds, the order many of k6's examples use.
import http from 'k6/http';

export const options = {
  thresholds: {
    http_req_duration: ['p(95)<5000'],
  },
  stages: [
    { duration: '1s', target: 1 },
    { duration: '1s', target: 0 },
  ],
};

export default function () {
  http.get(`${__ENV.BASE_URL}/ping`, { tags: { name: '/ping' } });
}
