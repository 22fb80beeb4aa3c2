import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { KEPT_RUNS, keepRun, RunsStore } from '../../src/io/dashboard/runs-store.js'
import { msvc } from '../helpers/cli.js'
import { makeTempDir } from '../helpers/temp-dir.js'

/** The least a load report holds for the dashboard to take it as one (core/dashboard/runs.ts). */
const report = (startMs: number) => ({
  target: 'http://127.0.0.1:3001/orders',
  model: 'open',
  startedAt: new Date(startMs).toISOString(),
  durationMs: 1000,
  latency: { p50: 1, p99: 2 },
  timeline: [{ t: 0, requests: 10, errors: 0, p50: 1, p90: 1, p99: 2, p999: 2, max: 2 }],
  requests: 10,
  errorRate: 0,
  thresholds: [],
  passed: true,
  chaos: [],
})

describe('runs kept in .msvc/runs', () => {
  it('keeps a copy the dashboard lists, and only the newest of each kind', async () => {
    const root = await makeTempDir('msvc-runs-')
    const t0 = Date.UTC(2026, 11, 5, 12, 0, 0)
    const first = await keepRun(root, 'load', t0, report(t0))
    expect(first).toBe(join(root, '.msvc', 'runs', 'load-2026-12-05T12-00-00-000Z.json'))
    expect(JSON.parse(await readFile(first, 'utf8'))).toEqual(report(t0))
    const runs = await new RunsStore(root).list()
    expect(runs.map((r) => r.id)).toEqual(['.msvc/runs/load-2026-12-05T12-00-00-000Z.json'])
    expect(runs[0]).toMatchObject({ kind: 'load' })

    for (let i = 1; i <= KEPT_RUNS + 1; i++) await keepRun(root, 'load', t0 + i * 1000, report(t0 + i * 1000))
    const kept = (await readdir(join(root, '.msvc', 'runs'))).sort()
    expect(kept).toHaveLength(KEPT_RUNS)
    // the two oldest went
    expect(kept[0]).toBe('load-2026-12-05T12-00-02-000Z.json')
    expect(kept.at(-1)).toBe(`load-2026-12-05T12-00-${String(KEPT_RUNS + 1).padStart(2, '0')}-000Z.json`)
  })

  it('msvc loadtest keeps its report there, and a copy it cannot write is a warning, not a failure', async () => {
    const server = createServer((_, res) => res.end('ok')).listen(0, '127.0.0.1')
    await new Promise((r) => server.once('listening', r))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    try {
      const root = await makeTempDir('msvc-runs-cli-')
      await writeFile(join(root, 'msvc.yaml'), 'name: runsws\nservices: {}\n')
      const ok = await msvc(['loadtest', url, '--rate', '20', '-d', '1s', '-q'], { cwd: root })
      expect(ok.exitCode, ok.stderr).toBe(0)
      expect(await readdir(join(root, '.msvc', 'runs'))).toEqual([expect.stringMatching(/^load-.*\.json$/)])
      // .msvc/runs a file: the copy cannot be written
      const other = await makeTempDir('msvc-runs-cli-')
      await writeFile(join(other, 'msvc.yaml'), 'name: runsws\nservices: {}\n')
      await mkdir(join(other, '.msvc'))
      await writeFile(join(other, '.msvc', 'runs'), '')
      const warned = await msvc(['loadtest', url, '--rate', '20', '-d', '1s', '-q'], { cwd: other })
      expect(warned.exitCode, warned.stderr).toBe(0)
      expect(warned.stderr).toMatch(/the report was not kept in \.msvc\/runs/)
    } finally {
      server.close()
    }
  })
})
