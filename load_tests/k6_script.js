/**
 * k6 suite for the platform: the same three kinds of users as locustfile.py.
 *
 * Why it exists: load_tests/README.md promises that `k6 run k6_script.js` runs the "Load Test"
 * (normal expected load) and that `--vus/--duration` and `--stage` turn it into the smoke,
 * stress and spike tests; loadlab runs this file the same way with `--out json=`.
 *
 * How the mix works: without CLI overrides, three `ramping-vus` scenarios (platform_user,
 * admin_user, heavy_user) share the configured stages 80:10:10, like Locust's weights 8:1:1.
 * k6 replaces every scenario with one `default` scenario when `--vus`, `--duration` or `--stage`
 * is given ("cli level configuration overrode scenarios configuration entirely"), so the default
 * function picks the user type from the VU number instead: in every block of ten VUs, VU 1 is a
 * PlatformUser, VU 2 an AdminUser, VU 3 a HeavyUser and VUs 4-10 PlatformUsers (8:1:1 again).
 *
 * Each VU registers its own account on its first iteration and works in its own workspace; the
 * admin uses the platform's admin key. Every request carries `X-Load-Test-Run`, is named by its
 * route template (tag `name`), tagged `kind:api` or, for HeavyUser's heavy work, `kind:heavy`
 * (each kind has its latency thresholds), and has its response checked (`checks`). Tasks carry
 * the same tags as in locustfile.py; every request that is not a GET belongs to a `write` task and
 * a VU registers only when a `write` task of its type is selected, so `-e EXCLUDE_TAGS=write`
 * sends GET requests only (reading as one of PLATFORM_API_KEYS's accounts, else PLATFORM_API_KEY's,
 * else the admin key's).
 * `teardown` deletes the run's data with `DELETE /api/v1/admin/test-runs/{run_id}`.
 *
 * Configuration (`-e NAME=value`, or the environment, which k6 passes to `__ENV`):
 *   BASE_URL                target (default http://localhost:8000)
 *   PLATFORM_ADMIN_API_KEY  the platform's admin key (or ADMIN_API_KEY)
 *   PLATFORM_API_KEYS       existing accounts (comma-separated), one per VU, for runs that exclude
 *                           the write tag (`platform-api seed-keys` gives seeded accounts keys)
 *   PLATFORM_API_KEY        an existing account, for runs that exclude the write tag
 *   LOAD_TEST_RUN_ID        the run id sent as X-Load-Test-Run (default: generated)
 *   LOAD_TEST_CLEANUP=0     keep the run's data
 *   LOAD_TEST_THINK_SCALE   multiplies every think time (default 1; 0: none)
 *   TAGS, EXCLUDE_TAGS      comma-separated task tags to keep or drop, as Locust's --tags
 *   TIME_SCALE, VU_SCALE    shrink the configured stages (durations, VUs), e.g. for a quick try
 *   MIN_RPS                 adds the throughput threshold `http_reqs rate>MIN_RPS`
 *
 * This file holds what k6 runs (the options, the exported scenario functions, setup, teardown);
 * lib/ holds the rest, one ES module per concern: config.js (the variables above), client.js
 * (requests named, tagged and checked), checks.js, tasks.js (weights, tags, think time), one
 * module per user type (platform_user.js, admin_user.js, heavy_user.js), users.js (which user a
 * VU is) and run_lifecycle.js (the configuration check and the cleanup).
 */
import exec from 'k6/execution';

import { TIME_SCALE, VU_SCALE, positive } from './lib/config.js';
import { cleanUp, startRun } from './lib/run_lifecycle.js';
import { LIVE_SLOTS, VU_SLOTS, iterate } from './lib/users.js';

// The seed's "Load Test": normal expected load, 100 users, shared 80:10:10.
const LOAD_TEST_STAGES = [
  { duration: 120, target: 100 },
  { duration: 300, target: 100 },
  { duration: 120, target: 0 },
];
const SHARES = { platform_user: 0.8, admin_user: 0.1, heavy_user: 0.1 };
const EXEC_OF = { platform_user: 'platformUser', admin_user: 'adminUser', heavy_user: 'heavyUser' };

function seconds(s) {
  return `${Math.max(1, Math.round(s * 1000 * TIME_SCALE))}ms`;
}

function scenarioFor(name) {
  const share = SHARES[name];
  return {
    executor: 'ramping-vus',
    exec: EXEC_OF[name],
    startVUs: 0,
    stages: LOAD_TEST_STAGES.map((stage) => ({
      duration: seconds(stage.duration),
      target: stage.target === 0 ? 0 : Math.max(1, Math.round(stage.target * share * VU_SCALE)),
    })),
    gracefulRampDown: seconds(30),
  };
}

function thresholds() {
  const result = {
    // The seed's latency targets hold for every interactive request. HeavyUser's generation,
    // big-dataset search and codebase analysis do bounded CPU work (up to the platform's 10 s
    // heavy budget): they get a budget of their own instead of hiding in the p99 of the rest.
    'http_req_duration{kind:api}': ['p(95)<500', 'p(99)<1000'],
    'http_req_duration{kind:heavy}': ['p(95)<5000'],
    http_req_failed: [
      'rate<0.001',
      // A dead or broken target: stop early instead of hammering it for the whole run.
      { threshold: 'rate<0.5', abortOnFail: true, delayAbortEval: '10s' },
    ],
    checks: ['rate>0.999'],
  };
  if (__ENV.MIN_RPS) result.http_reqs = [`rate>${positive('MIN_RPS', 0)}`];
  return result;
}

export const options = {
  scenarios: Object.fromEntries(Object.keys(SHARES).map((name) => [name, scenarioFor(name)])),
  thresholds: thresholds(),
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function platformUser(data) {
  iterate('platform', data);
}

export function adminUser(data) {
  iterate('admin', data);
}

export function heavyUser(data) {
  iterate('heavy', data);
}

export default function (data) {
  const slots = LIVE_SLOTS.length ? LIVE_SLOTS : VU_SLOTS;
  iterate(slots[(exec.vu.idInTest - 1) % slots.length], data);
}

export function setup() {
  return startRun();
}

export function teardown(data) {
  cleanUp(data);
}
