// `msvc loadtest <service>` against a generated service running in Docker: the requests msvc
// generates for a resource are ones the generated routes accept (issue 7).
import { afterAll, describe, expect, inject, it } from 'vitest'
import type { LoadReport } from '../../src/core/loadtest/report.js'
import { msvc } from '../helpers/cli.js'
import { dockerAvailable } from '../helpers/docker.js'

const ws = inject('workspaceDir')
const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)('msvc loadtest against a generated service', () => {
  afterAll(async () => {
    await msvc(['down'], { cwd: ws })
  })

  it('lists and creates catalog items with no errors, and a threshold passes, run after run', async () => {
    const up = await msvc(['up', 'catalog', '--json'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
    // twice against the same service: the second run's creates must not clash with the first's
    for (const run of [1, 2]) {
      const r = await msvc(
        ['loadtest', 'catalog', '--rate', '50', '-d', '2s', '--json', '--threshold', 'errors<1%'],
        { cwd: ws },
      )
      expect(r.exitCode, `run ${run}: ${r.stderr}`).toBe(0)
      const report = JSON.parse(r.stdout) as LoadReport
      expect(report.endpoints.map((e) => [e.name, e.requests, e.statuses])).toEqual([
        ['GET /catalogs', 80, { 200: 80 }],
        ['POST /catalogs', 20, { 201: 20 }],
      ])
    }
  })
})
