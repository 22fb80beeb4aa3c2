import type { LoadReport } from '../../src/core/loadtest/report.js'

/** A small open-model report (10 requests, 2 s) for the summary and HTML tests to vary. */
export function sampleLoadReport(overrides: Partial<LoadReport> = {}): LoadReport {
  const latency = { count: 10, p50: 1, p90: 2, p95: 2, p99: 3, p999: 3, max: 3, mean: 1.5 }
  return {
    target: 'http://127.0.0.1:3001/',
    model: 'open',
    startedAt: '2026-12-04T00:00:00.000Z',
    durationMs: 2000,
    targetRate: 5,
    achievedRate: 5,
    connections: 2,
    connectionsOpened: 2,
    connectionsReused: 8,
    generator: {
      saturated: false,
      sendLagP99: 0.2,
      cpu: 0.12,
      eventLoop: 0.1,
      loopDelayMax: 1.2,
      reasons: [],
    },
    requests: 10,
    errors: 0,
    errorRate: 0,
    latency,
    unfinished: 0,
    endpoints: [
      { name: 'GET /', method: 'GET', path: '/', requests: 10, errors: 0, statuses: { '200': 10 }, latency },
    ],
    timeline: [{ t: 0, targetRate: 5, requests: 5, errors: 0, p50: 1, p90: 2, p99: 3, p999: 3, max: 3 }],
    thresholds: [],
    passed: true,
    chaos: [],
    ...overrides,
  }
}
