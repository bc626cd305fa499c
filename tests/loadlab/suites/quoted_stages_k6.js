// A script's own stages under quoted keys (as JSON would write them), its options built first.
import http from 'k6/http';

const options = {
  "stages": [
    { "duration": "1s", "target": 1 },
    { "duration": "1s", "target": 0 },
  ],
};
export { options };

export default function () {
  http.get(`${__ENV.BASE_URL}/ping`, { tags: { name: '/ping' } });
}
