import { randomFillSync } from 'node:crypto'

/**
 * Random bytes drawn ahead, 4 KiB at a time: one call into the system's entropy source per 256
 * request ids. These ids name requests and traces; nothing secret is made from them.
 */
const pool = Buffer.allocUnsafe(4096)
let drawn = pool.length

/** `bytes` random bytes (1 to 4096) as lowercase hex. */
export function randomHex(bytes: number): string {
  if (drawn + bytes > pool.length) {
    randomFillSync(pool)
    drawn = 0
  }
  drawn += bytes
  return pool.toString('hex', drawn - bytes, drawn)
}

/** What a caller may send as its request id: 1 to 128 letters, digits and `._:-`. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * The request id of a request or call: the one its caller sent when it is acceptable (see
 * REQUEST_ID), else a new one, 16 random bytes as 32 hex digits (the shape of a W3C trace id).
 * A new id is one hex conversion of pooled bytes: under load (PERFORMANCE.md) randomUUID's id, built
 * piece by piece, cost about a microsecond a request once it was written into a header and a log line.
 */
export function requestIdFrom(given: unknown): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomHex(16)
}
