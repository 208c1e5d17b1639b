import type { WindowCount } from './store';

/**
 * Sliding windows from two fixed-window counters (the stores' `count` and `previous`).
 *
 * A fixed window that resets on the clock minute lets a client spend its limit at :59 and again
 * at :00, twice the limit within a second. Here the count over the last `windowMs` is estimated as
 * this window's hits plus the previous window's hits weighted by how much of the previous window
 * the sliding window still covers (rounded up, so the estimate never favours the client). A burst
 * at the end of one window therefore still counts in full at the start of the next, and fades out
 * over that window. Each hit costs the same single store round trip as a fixed window, where a
 * log of every hit's time would cost a row per hit.
 *
 * What it bounds: within any stretch shorter than a window, at most the limit plus that stretch's
 * share of it (a :59/:00 burst gets the limit through once, not twice). The estimate assumes the
 * previous window's hits were spread evenly, so an adversary who spends the whole limit in the
 * last moment of a window can, over the next full window, get up to about the limit again: as
 * steady as a token bucket of the same rate and size, never a doubled burst.
 */
export function slidingCount(c: WindowCount, windowMs: number, at: number): number {
  // previous × (share of the previous window still covered), as one division: exact in whole
  // milliseconds, where 1 − elapsed / window would round 9 up to 9.000000000000002 (and then to 10).
  const remaining = Math.min(windowMs, Math.max(0, c.resetAt - at));
  return Math.ceil((c.previous * remaining) / windowMs) + c.count;
}

/**
 * The earliest time (epoch ms, ≥ `at`) at which, without further hits, one more hit would keep the
 * sliding count within `limit`: when an address blocked now may be heard again.
 */
export function slidingFreeAt(c: WindowCount, windowMs: number, limit: number, at: number): number {
  const room = limit - 1; // what the estimate must fall to before the next hit
  if (c.count <= room) {
    // ceil(previous × remaining / window) ≤ room − count  ⇔  remaining ≤ (room − count) × window / previous.
    if (c.previous === 0) return at;
    return Math.max(at, c.resetAt - Math.floor(((room - c.count) * windowMs) / c.previous));
  }
  // This window's count alone is too many: wait until it, as the next window's previous, has faded.
  return Math.max(at, c.resetAt + windowMs - Math.floor((Math.max(room, 0) * windowMs) / c.count));
}
