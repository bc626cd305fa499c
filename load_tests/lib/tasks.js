/**
 * Tasks with weights and tags, chosen like Locust chooses them, and the think time between them.
 *
 * `allows` applies Locust's rule for --tags/--exclude-tags to `-e TAGS=`/`-e EXCLUDE_TAGS=`, so
 * both tools select the same tasks; a user type registers only when a selected task writes.
 */
import { sleep } from 'k6';

import {
  ADMIN_KEY,
  EXCLUDE_TAGS,
  MEMBER_KEY,
  MEMBER_KEYS,
  ONLY_TAGS,
  THINK_SCALE,
} from './config.js';

/** Locust's rule for --tags/--exclude-tags, so both tools select the same tasks. */
export function allows(tags) {
  if (ONLY_TAGS && !tags.some((t) => ONLY_TAGS.includes(t))) return false;
  return !(EXCLUDE_TAGS && tags.some((t) => EXCLUDE_TAGS.includes(t)));
}

export function task(weight, tags, run) {
  return { weight, tags, run };
}

export function weighted(tasks) {
  const total = tasks.reduce((sum, t) => sum + t.weight, 0);
  let roll = Math.random() * total;
  for (const t of tasks) {
    roll -= t.weight;
    if (roll < 0) return t;
  }
  return tasks[tasks.length - 1];
}

export function think(range) {
  sleep((range[0] + Math.random() * (range[1] - range[0])) * THINK_SCALE);
}

export function needsAccount(tasks) {
  return tasks.some((t) => !t.tags.includes('health'));
}

/** Whether a selected task changes state, so the user may register and create. */
export function writes(tasks) {
  return tasks.some((t) => t.tags.includes('write'));
}

/** The account a run without writes reads with, since it may not register one. */
export function existingKey() {
  // One key per VU (setup and teardown run as VU 0).
  if (MEMBER_KEYS.length > 0) return MEMBER_KEYS[Math.max(__VU - 1, 0) % MEMBER_KEYS.length];
  return MEMBER_KEY || ADMIN_KEY;
}
