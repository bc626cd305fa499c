/**
 * The three user types, and what one VU does in one iteration as one of them.
 *
 * Each VU is its own JavaScript runtime with its own copy of this module, so `session` is per VU:
 * set up (registration, workspace) on the VU's first successful iteration, then reused.
 */
import { sleep } from 'k6';

import { ADMIN_TASKS, adminSession } from './admin_user.js';
import { HEAVY_TASKS, heavySession } from './heavy_user.js';
import { PLATFORM_TASKS, platformSession } from './platform_user.js';
import { think, weighted } from './tasks.js';

const USER_TYPES = {
  platform: { start: platformSession, tasks: PLATFORM_TASKS, thinkS: [0.5, 2] },
  admin: { start: adminSession, tasks: ADMIN_TASKS, thinkS: [2, 5] },
  heavy: { start: heavySession, tasks: HEAVY_TASKS, thinkS: [3, 8] },
};

export const ALL_TASKS = [PLATFORM_TASKS, ADMIN_TASKS, HEAVY_TASKS];
export const VU_SLOTS = ['platform', 'admin', 'heavy', ...Array(7).fill('platform')];
export const LIVE_SLOTS = VU_SLOTS.filter((name) => USER_TYPES[name].tasks.length);

let session = null; // one per VU: each VU is its own JavaScript runtime

export function iterate(typeName, data) {
  const type = USER_TYPES[typeName];
  if (!type.tasks.length) {
    sleep(1); // the tags left this user type nothing to do, as Locust would
    return;
  }
  if (session === null) {
    const fresh = { runId: data.runId, apiKey: null };
    if (!type.start(fresh)) {
      think(type.thinkS); // the failure is recorded; retry on the next iteration
      return;
    }
    session = fresh;
  }
  weighted(type.tasks).run(session);
  think(type.thinkS);
}
