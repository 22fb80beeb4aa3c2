// What docs/loadtest.md promises when a run does not end normally: Ctrl-C exits 130 and still
// prints what was measured; a request unanswered after --timeout is an error with no status.
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { MSVC_BIN, msvc } from '../helpers/cli.js'
import { startLoadServer, type LoadServer } from '../helpers/load-server.js'

describe('msvc loadtest, cut short', () => {
  let fast: LoadServer
  let stalled: LoadServer
  beforeAll(async () => {
    ;[fast, stalled] = await Promise.all([startLoadServer(), startLoadServer({ delayMs: 3000 })])
  })
  afterAll(async () => {
    await Promise.all([fast?.stop(), stalled?.stop()])
  })

  it.each([
    ['SIGINT', '1'],
    ['SIGTERM', '1'],
    ['SIGINT', '2'],
  ] as const)(
    '%s (Ctrl-C, or a stop) with %s worker(s): exit 130, and the report of what was measured so far',
    async (signal, workers) => {
      const child = execa(
        'node',
        [MSVC_BIN, 'loadtest', `${fast.url}/`, '-r', '100', '-d', '30s', '--workers', workers, '--json'],
        {
          reject: false,
          env: { CI: '1', NO_COLOR: '1' },
        },
      )
      // workers start their clocks about 1.2 s in
      await new Promise((r) => setTimeout(r, workers === '1' ? 1500 : 2500))
      child.kill(signal)
      const r = await child
      expect(r.exitCode).toBe(130)
      expect(r.stderr).toContain('cancelled')
      const report = JSON.parse(r.stdout) as LoadReport
      expect(report.requests).toBeGreaterThan(0)
      expect(report.durationMs).toBeLessThan(30_000)
    },
  )

  it('Ctrl-C during the warm-up: exit 130, says nothing was measured, and prints no report', async () => {
    const child = execa(
      'node',
      [MSVC_BIN, 'loadtest', `${fast.url}/`, '-r', '100', '-d', '5s', '--warmup', '30s', '--json'],
      { reject: false, env: { CI: '1', NO_COLOR: '1' } },
    )
    await new Promise((r) => setTimeout(r, 1500))
    child.kill('SIGINT')
    const r = await child
    expect(r.exitCode).toBe(130)
    expect(r.stderr).toContain('cancelled during the warm-up: nothing was measured')
    expect(r.stdout).toBe('')
  })

  it('a request unanswered after --timeout is an error with no status', async () => {
    const r = await msvc([
      'loadtest',
      `${stalled.url}/`,
      '-r',
      '20',
      '-d',
      '1s',
      '--timeout',
      '500ms',
      '--json',
    ])
    // the target answered none of the requests: msvc could not load it
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/answered none of/)
    const report = JSON.parse(r.stdout) as LoadReport
    expect(report.requests).toBeGreaterThan(0)
    expect(report.errors).toBe(report.requests)
    expect(report.endpoints[0]!.statuses).toEqual({ '0': report.requests })
  })
})
