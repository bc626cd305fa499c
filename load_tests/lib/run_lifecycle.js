/**
 * The run's start and end: check the configuration, name the run, and delete its data at the end.
 *
 * `startRun` is k6_script.js's `setup` and `cleanUp` its `teardown`. The platform tags every row a
 * request creates with the request's `X-Load-Test-Run`, so
 * `DELETE /api/v1/admin/test-runs/{run_id}`, asked until it is complete, removes everything the run
 * made (the audit trail excepted, which the platform keeps).
 */
import http from 'k6/http';
import exec from 'k6/execution';
import { sleep } from 'k6';

import { ADMIN_TASKS } from './admin_user.js';
import { ADMIN_KEY, BASE_URL, CLEANUP, RUN_HEADER, RUN_ID_PATTERN } from './config.js';
import { HEAVY_TASKS } from './heavy_user.js';
import { PLATFORM_TASKS } from './platform_user.js';
import { randomHex } from './random_data.js';
import { existingKey, needsAccount, writes } from './tasks.js';
import { ALL_TASKS, LIVE_SLOTS } from './users.js';

const CLEANUP_DEADLINE_S = 600;
const CLEANUP_PASSES = 5;

function problems() {
  const found = [];
  if (!LIVE_SLOTS.length) found.push('TAGS/EXCLUDE_TAGS leave no task to run');
  if (needsAccount(ADMIN_TASKS) && !ADMIN_KEY) {
    found.push('AdminUser needs the platform admin key: set PLATFORM_ADMIN_API_KEY');
  }
  if (ALL_TASKS.some(writes) && CLEANUP && !ADMIN_KEY) {
    found.push('the cleanup needs PLATFORM_ADMIN_API_KEY (or -e LOAD_TEST_CLEANUP=0)');
  }
  const readers = [PLATFORM_TASKS, HEAVY_TASKS].filter((t) => needsAccount(t) && !writes(t));
  if (readers.length && !existingKey()) {
    found.push('a run without writes needs PLATFORM_API_KEY or PLATFORM_ADMIN_API_KEY');
  }
  return found;
}

export function startRun() {
  const found = problems();
  const runId = __ENV.LOAD_TEST_RUN_ID || `k6-${randomHex(12)}`;
  if (!RUN_ID_PATTERN.test(runId)) found.push(`LOAD_TEST_RUN_ID ${runId}: use 1-64 [A-Za-z0-9_.-]`);
  if (found.length) exec.test.abort(found.join('; '));
  const res = http.get(`${BASE_URL}/health`, {
    headers: { [RUN_HEADER]: runId },
    tags: { name: '/health', kind: 'api' },
  });
  if (res.status !== 200) {
    console.error(`${BASE_URL}/health answered ${res.status || res.error}: is the platform up?`);
  }
  console.log(`load test run id: ${runId}`);
  return { runId };
}

export function cleanUp(data) {
  if (!ALL_TASKS.some(writes)) return; // nothing was created
  if (!CLEANUP) {
    console.log(`cleanup skipped: data of test run ${data.runId} kept`);
    return;
  }
  const url = `${BASE_URL}/api/v1/admin/test-runs/${data.runId}`;
  const params = {
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
    tags: { name: '/api/v1/admin/test-runs/[id]', kind: 'cleanup' },
    timeout: '120s',
  };
  // The platform deletes in batches and answers `complete: false` when its time for one request
  // ran out; a busy platform answers 503. Ask again (after a growing pause for a 503) until a
  // complete pass after the first finds nothing, for up to CLEANUP_DEADLINE_S in all.
  const deadline = Date.now() + CLEANUP_DEADLINE_S * 1000;
  const deleted = {};
  let kept = {};
  let completePasses = 0;
  let pauseS = 0.5;
  while (completePasses < CLEANUP_PASSES) {
    const res = http.del(url, null, params);
    if (res.status !== 200) {
      if (![0, 502, 503, 504].includes(res.status) || Date.now() + pauseS * 1000 > deadline) {
        const why = `HTTP ${res.status}`;
        console.error(`cleanup of test run ${data.runId} failed (${why}): DELETE ${url}`);
        return;
      }
      sleep(pauseS);
      pauseS = Math.min(pauseS * 2, 10);
      continue;
    }
    pauseS = 0.5;
    const body = res.json();
    let found = 0;
    for (const [table, count] of Object.entries(body.deleted)) {
      deleted[table] = (deleted[table] || 0) + count;
      found += count;
    }
    if (body.kept && Object.keys(body.kept).length) kept = body.kept;
    if (body.complete === false) {
      if (Date.now() > deadline) {
        const why = 'not complete in time';
        console.error(`cleanup of test run ${data.runId} failed (${why}): DELETE ${url}`);
        return;
      }
      continue;
    }
    completePasses += 1;
    if (completePasses > 1 && !found) break;
    sleep(0.5); // requests in flight when the VUs stopped may still create rows
  }
  const counts = `deleted ${JSON.stringify(deleted)}, kept ${JSON.stringify(kept)}`;
  console.log(`cleanup of test run ${data.runId}: ${counts}`);
}
