/**
 * The load generator behind the chaos experiment's load probe seam (`LoadRunner` in
 * src/io/chaos/probes.ts): a constant-rate open-model run against a URL, summarised as the probe
 * expects. To use it, pass it as the probe's `load` (it replaces `runInterimLoad`).
 */
import { compileRequest } from '../../core/loadtest/request.js'
import { constantProfile } from '../../core/loadtest/schedule.js'
import { urlRequests } from '../../core/loadtest/targets.js'
import type { LoadRunner } from '../chaos/probes.js'
import { runLoad } from './generator.js'

export const engineLoadRunner: LoadRunner = async ({
  url,
  method = 'GET',
  body,
  expect,
  rate,
  durationMs,
  signal,
  keepSeconds,
}) => {
  const u = new URL(url)
  const specs = urlRequests(u).map((spec) => ({
    ...spec,
    name: `${method} ${u.pathname}${u.search}`,
    method,
    ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
    ...(expect ? { expect: expect.map((status): [number, number] => [status, status]) } : {}),
  }))
  const r = await runLoad({
    host: u.hostname,
    port: Number(u.port || 80),
    requests: specs.map((spec) => compileRequest(spec, u.host)),
    model: { kind: 'open', profile: constantProfile(rate, durationMs), maxConnections: 1000 },
    timeoutMs: 10_000,
    ...(signal ? { signal } : {}),
    ...(keepSeconds ? { keepSeconds } : {}),
  })
  const l = r.latency
  return {
    ...(keepSeconds
      ? {
          run: {
            startMs: r.startMs,
            durationMs: r.durationMs,
            ...(r.sentSeconds ? { sent: r.sentSeconds } : {}),
          },
        }
      : {}),
    requests: r.requests,
    errors: r.errors,
    p50: l.p50,
    p90: l.p90,
    p95: l.p95,
    p99: l.p99,
    p999: l.p999,
    max: l.max,
    mean: l.mean,
  }
}
