/** Units chaos commands and experiments accept: durations, percentages and rates. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `200ms`, `1.5s`, `2m`, `1h` (or `1m30s`) as milliseconds; undefined when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim()
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) return undefined
  let total = 0
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]!]!
  return Math.round(total)
}

/**
 * A duration given by a user on the command line or in a scenario or experiment file: what
 * parseDuration reads, or a bare number of seconds (`90`, as compose's `--timeout 90` and a YAML
 * number). Undefined when it is neither (zero is a duration: an offset may be 0). Fault values (a latency, a jitter)
 * use parseDuration alone: there a bare number would be ambiguous.
 */
export function durationMs(value: unknown): number | undefined {
  const ms =
    typeof value === 'number'
      ? value * 1000
      : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value)
        ? Number(value) * 1000
        : typeof value === 'string'
          ? parseDuration(value)
          : undefined
  return ms !== undefined && Number.isFinite(ms) && ms >= 0 ? Math.round(ms) : undefined
}

/** `20%` or `0.5%` as a fraction in [0, 1]; undefined otherwise. */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim())
  if (!m) return undefined
  const v = Number(m[1])
  return v > 100 ? undefined : v / 100
}

const RATE_UNITS: Record<string, number> = {
  bit: 1 / 8,
  kbit: 1000 / 8,
  mbit: 1_000_000 / 8,
  gbit: 1_000_000_000 / 8,
  bps: 1,
  kbps: 1000,
  mbps: 1_000_000,
  gbps: 1_000_000_000,
}

/**
 * A rate in tc's words, as bytes per second: `100kbit`, `1mbit` (bits) or `10kbps`, `1mbps`
 * (bytes), as `tc` and Pumba spell them. Undefined when it is not one.
 */
export function parseRate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text.trim())
  if (!m) return undefined
  const unit = RATE_UNITS[m[2]!.toLowerCase()]
  if (unit === undefined) return undefined
  const v = Number(m[1]) * unit
  return v > 0 ? v : undefined
}

/** 1500 -> "1.5s", 200 -> "200ms", 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return s ? `${m}m${s}s` : `${m}m`
}

/** Bytes per second in bits, as the user wrote it: 12500 -> "100kbit". */
export function formatRate(bytesPerSecond: number): string {
  const bits = bytesPerSecond * 8
  if (bits >= 1e9) return `${Number((bits / 1e9).toFixed(2))}gbit`
  if (bits >= 1e6) return `${Number((bits / 1e6).toFixed(2))}mbit`
  if (bits >= 1e3) return `${Number((bits / 1e3).toFixed(2))}kbit`
  return `${Number(bits.toFixed(2))}bit`
}
