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
