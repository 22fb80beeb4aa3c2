import type { Workspace } from '../workspace/model.js'

/**
 * An example experiment naming the workspace's real services: a callee that another service calls
 * is killed and then slowed; the caller must stay live, and the callee must come back.
 */
export function planExampleExperiment(ws: Workspace): string {
  const names = Object.keys(ws.services).sort()
  const caller = names.find((n) => ws.services[n]!.calls.length > 0)
  const callee = caller ? [...ws.services[caller]!.calls].sort()[0]! : names[0]
  if (!callee) throw new Error('the workspace has no services')
  const watcher = caller ?? callee
  const lines = [
    `# A chaos experiment for ${ws.name}: msvc chaos run <this file> [--journal journal.json]`,
    '# Exit code: 0 the hypothesis held, 2 it was violated, 1 not steady before (or msvc failed).',
    `title: ${caller ? `${caller} survives losing ${callee}` : `${callee} comes back after a crash`}`,
    `description: Kill ${callee}, then slow it down; ${watcher} must stay up and ${callee} must recover.`,
    '',
    '# The steady state, checked before the method (not steady: abort) and after it.',
    'hypothesis:',
    `  - http: { service: ${watcher}, path: /health/live, expect: 200, maxLatency: 500ms }`,
    `  - http: { service: ${callee}, path: /health/ready, expect: 200 }`,
    `  # - load: { service: ${watcher}, rate: 20, duration: 5s, thresholds: [p99<300ms, errors<1%] }`,
    '',
    '# Faults (and probes) at offsets from the start; a fault with "for" is undone after it.',
    'method:',
    `  - { at: 0s, fault: kill, service: ${callee} }`,
    `  - { at: 1s, probe: { http: { service: ${watcher}, path: /health/live, expect: 200 } } }`,
    `  - { at: 2s, fault: latency, service: ${callee}, delay: 200ms, jitter: 50ms, for: 5s }`,
    ...(caller
      ? [
          `  # with the kit's circuit breaker, ${caller} opens it while ${callee} is down:`,
          `  # - { at: 1s, within: 10s, probe: { metric: { service: ${caller}, series: 'circuit_breaker_state{target="${callee}"}', expect: '== 1' } } }`,
        ]
      : []),
    '',
    '# Run at the end, whatever happened, once the steady state before has held.',
    'rollbacks:',
    `  - { action: wait-healthy, service: ${callee}, timeout: 60s }`,
    '',
    'settings:',
    '  recoveryTimeout: 60s',
    '',
  ]
  return lines.join('\n')
}
