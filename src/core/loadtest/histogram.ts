/**
 * Latency histograms (HdrHistogram, 3 significant digits, microseconds up to an hour): memory is
 * fixed however long a run lasts, and recording costs ~100 ns.
 */
import hdr from 'hdr-histogram-js'

export type Histogram = ReturnType<typeof hdr.build>

/** A new empty histogram of microseconds. */
export function createHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    useWebAssembly: false,
  })
}

/** Percentiles in ms. */
export interface LatencyStats {
  count: number
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
  mean: number
}

const ms = (us: number) => Math.round(us) / 1000

/** A histogram of microseconds as ms percentiles (zeros when empty). */
export function toLatencyStats(h: Histogram): LatencyStats {
  const count = h.totalCount
  if (!count) return { count: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0 }
  return {
    count,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p95: ms(h.getValueAtPercentile(95)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  }
}

/** One second of a timeline: percentiles and max, as toLatencyStats gives them. */
export type PointStats = Pick<LatencyStats, 'p50' | 'p90' | 'p99' | 'p999' | 'max'>

/**
 * The percentiles of one second of the timeline: toLatencyStats without the mean, whose walk over
 * every bucket of the histogram froze the generator for 23-45 ms at the first second of an open
 * run and 1-15 ms at later ones, in the middle of the sends (issue #19). Percentiles stop at the
 * bucket they need.
 */
export function toPointStats(h: Histogram): PointStats {
  if (!h.totalCount) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  }
}

/** A histogram as text that another thread can decode (HdrHistogram's compressed encoding). */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

/**
 * Adds encoded histograms into `into`: the exact merge, bucket by bucket, so the percentiles of
 * the sum are those of one histogram fed every sample (never an average of percentiles).
 */
export function addEncoded(into: Histogram, encoded: string): void {
  const h = hdr.decodeFromCompressedBase64(encoded, 32, false)
  into.add(h)
  h.destroy()
}

/** Records a duration in ms (clamped to the trackable range). */
export function recordMs(h: Histogram, valueMs: number): void {
  const us = Math.round(valueMs * 1000)
  h.recordValue(us < 1 ? 1 : us > 3_600_000_000 ? 3_600_000_000 : us)
}
