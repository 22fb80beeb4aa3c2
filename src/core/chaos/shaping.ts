/**
 * The fault proxy's arithmetic. These functions are also sent into the proxy container as source
 * text (`Function.prototype.toString`), so each must stay self-contained: no imports, no helpers.
 */

/**
 * When a chunk that arrived at `now` may be forwarded: after the delay, varied uniformly by up to
 * ± jitter (`random01` in [0, 1)), and never before the chunk ahead of it, since a byte stream keeps
 * its order (Toxiproxy's latency toxic does the same).
 */
export function releaseTime(
  now: number,
  previous: number,
  delayMs: number,
  jitterMs: number,
  random01: number,
): number {
  const jitter = jitterMs > 0 ? (random01 * 2 - 1) * jitterMs : 0
  return Math.max(now + delayMs + jitter, previous)
}

/**
 * When a chunk of `bytes` has gone through a link of `bytesPerSecond` that is busy until
 * `previous`: store and forward, so the average rate never exceeds the limit.
 */
export function paceTime(now: number, previous: number, bytes: number, bytesPerSecond: number): number {
  return Math.max(now, previous) + (bytes / bytesPerSecond) * 1000
}
