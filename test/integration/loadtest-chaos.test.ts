// `msvc loadtest --chaos`: a fault applied inside the run against a real container, undone at its
// end, and marked on the report (issue 7).
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { startChaosStack, type ChaosStack } from '../helpers/chaos-stack.js'
import { docker, dockerAvailable } from '../helpers/docker.js'

const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)('msvc loadtest --chaos against a real container', () => {
  let stack: ChaosStack
  beforeAll(async () => {
    stack = await startChaosStack(['web', 'down'])
  }, 120_000)
  afterAll(async () => {
    await stack?.teardown()
  })

  it('pauses the service 1 s into the run for 2 s: the window is in the report, the stall in the latencies, nothing is left behind', async () => {
    const url = `http://127.0.0.1:${stack.services.web!.port}/`
    const r = await stack.msvc([
      'loadtest',
      url,
      '--rate',
      '50',
      '-d',
      '5s',
      '--chaos',
      'pause web@1s for 2s',
      '--json',
    ])
    expect(r.exitCode, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.chaos).toHaveLength(1)
    const w = report.chaos[0]!
    expect(w.label).toBe('pause web')
    expect(w.startMs).toBeGreaterThanOrEqual(900)
    expect(w.startMs).toBeLessThan(2000)
    expect(w.endMs - w.startMs).toBeGreaterThan(1800)
    expect(w.endMs - w.startMs).toBeLessThan(3500)
    // requests sent while it was paused waited until it was unpaused: up to ~2 s from their intended time
    expect(report.latency.max).toBeGreaterThan(1500)
    expect(report.errors).toBe(0)
    expect(r.stderr).toContain('chaos: pause web applied')
    expect(r.stderr).toContain('chaos: pause web undone')
    const ledger = JSON.parse(await readFile(`${stack.root}/.msvc/chaos-ledger.json`, 'utf8')) as {
      faults: unknown[]
    }
    expect(ledger.faults).toEqual([])
  }, 60_000)
  it("judges thresholds by phase: a pause breaks the fault phase's and not the baseline's or the recovery's; exit 2 names the phase", async () => {
    const url = `http://127.0.0.1:${stack.services.web!.port}/`
    const html = join(stack.root, 'phases.html')
    // requests due in the 2 s pause wait for its end: past the 1 s timeout, half of them are errors
    const r = await stack.msvc([
      'loadtest',
      url,
      '--rate',
      '50',
      '-d',
      '8s',
      '--timeout',
      '1s',
      '--chaos',
      'pause web@2s for 2s',
      '--settle',
      '1s',
      '--threshold',
      'baseline:p99<500ms',
      '--threshold',
      'fault:errors<5%',
      '--threshold',
      'recovery:errors<1%',
      '--json',
      '--html',
      html,
    ])
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/threshold fault:errors<5% breached in the fault phase: \d+\.\d % errors/)
    expect(r.stderr).not.toMatch(/baseline:p99<500ms|recovery:errors<1%/)
    const report = JSON.parse(r.stdout) as LoadReport
    const w = report.chaos[0]!
    // pause is watched until web answers healthy again, after it was undone
    expect(w.recoveredMs).toBeGreaterThanOrEqual(w.endMs)
    expect(report.settleMs).toBe(1000)
    const phase = Object.fromEntries((report.phases ?? []).map((p) => [p.phase, p]))
    expect(Object.keys(phase)).toEqual(['baseline', 'fault', 'recovery'])
    expect(phase.fault!.spans).toEqual([{ phase: 'fault', startMs: w.startMs, endMs: w.endMs }])
    expect(phase.recovery!.spans).toEqual([
      { phase: 'recovery', startMs: w.endMs, endMs: w.recoveredMs! + 1000 },
    ])
    // by when they were due: every second the pause touched is the fault's, with its 50 requests
    const touched = [0, 1, 2, 3, 4, 5, 6, 7].filter((t) => t * 1000 < w.endMs && t * 1000 + 1000 > w.startMs)
    expect(touched.length).toBeGreaterThanOrEqual(2)
    expect(phase.fault!.seconds).toBe(touched.length)
    expect(phase.fault!.requests).toBe(50 * touched.length)
    expect(phase.fault!.errorRate).toBeGreaterThan(0.3)
    expect(phase.baseline!.errors).toBe(0)
    expect(phase.baseline!.latency.p99).toBeLessThan(500)
    expect(phase.recovery!.errors).toBe(0)
    expect(phase.baseline!.requests + phase.fault!.requests + phase.recovery!.requests).toBe(report.requests)
    expect(report.thresholds.map((t) => [t.threshold, t.phase, t.ok])).toEqual([
      ['baseline:p99<500ms', 'baseline', true],
      ['fault:errors<5%', 'fault', false],
      ['recovery:errors<1%', 'recovery', true],
    ])
    const page = await readFile(html, 'utf8')
    expect(page).toContain('<section id="phases">')
    expect(page).toContain('in the fault phase')
  }, 60_000)

  it('a phase threshold with no fault in the run is refused before it starts', async () => {
    const url = `http://127.0.0.1:${stack.services.web!.port}/`
    const r = await stack.msvc([
      'loadtest',
      url,
      '--rate',
      '10',
      '-d',
      '1s',
      '--threshold',
      'fault:errors<5%',
    ])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(
      'threshold fault:errors<5% judges a phase of a run with faults, and this run has none',
    )
  }, 30_000)

  it('a fault that cannot be applied fails the run: exit 1, in the JSON and the HTML report', async () => {
    await docker(['stop', '-t', '1', stack.services.down!.container])
    const url = `http://127.0.0.1:${stack.services.web!.port}/`
    const html = join(stack.root, 'report.html')
    const r = await stack.msvc([
      'loadtest',
      url,
      '--rate',
      '20',
      '-d',
      '2s',
      '--chaos',
      'pause down@500ms for 1s',
      '--json',
      '--html',
      html,
    ])
    expect(r.exitCode, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/chaos: pause down@500ms for 1s: .*down/)
    expect(r.stderr).toContain('1 of 1 --chaos faults failed')
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.chaosFailures).toEqual([expect.stringMatching(/^pause down@500ms for 1s: /)])
    expect(report.chaos).toEqual([])
    expect(report.errors).toBe(0)
    const page = await readFile(html, 'utf8')
    expect(page).toContain('Chaos faults that failed')
    expect(page).toContain('pause down@500ms for 1s: ')
  }, 60_000)
})
