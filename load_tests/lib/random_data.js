/**
 * Random ids and realistic text for the names, prompts, documents and searches users send.
 *
 * Drawn from one small vocabulary so that knowledge-base searches find the documents users wrote
 * (the same vocabulary as platform_load/vocabulary.py).
 */

const VOCABULARY = (
  'latency throughput database workflow pipeline cache index queue tenant scaling replica backup ' +
  'deploy rollback incident budget token model prompt invoice schema migration search ranking ' +
  'cluster gateway secret audit compliance report'
).split(' ');

export function randomHex(length) {
  let out = '';
  while (out.length < length) out += Math.floor(Math.random() * 0x100000000).toString(16);
  return out.slice(0, length);
}

export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

export function words(count) {
  return Array.from({ length: count }, () => pick(VOCABULARY)).join(' ');
}
