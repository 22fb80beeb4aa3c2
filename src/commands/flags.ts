import { durationMs } from '../core/chaos/units.js'
import { UserError } from '../errors.js'

/**
 * A duration flag (`--timeout`, `--for`, `--duration`, ...), read the same way by every command:
 * `500ms`, `30s`, `2m`, `1h`, `1m30s`, or a bare number of seconds. Milliseconds, or a UserError.
 */
export function durationFlag(value: string, flag: string, example = '30s'): number {
  const ms = durationMs(value)
  if (ms === undefined || ms <= 0)
    throw new UserError(
      `${flag} "${value}" is not a duration`,
      `for example ${flag} ${example} (ms, s, m, h; a bare number is seconds)`,
    )
  return ms
}

/** `--since 10m` (any duration durationFlag reads: that long ago) or an ISO time, as Unix seconds. */
export function sinceFlag(since: string, now = Date.now()): number {
  const ago = durationMs(since)
  if (ago !== undefined) return Math.floor((now - ago) / 1000)
  const t = Date.parse(since)
  if (Number.isNaN(t))
    throw new UserError(
      `--since "${since}" is not a duration or a time`,
      'for example --since 10m or --since 2026-01-01T10:00:00Z',
    )
  return Math.floor(t / 1000)
}
