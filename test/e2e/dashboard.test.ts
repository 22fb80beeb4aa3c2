import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { dashboardRecordPath, type DashboardRecord } from '../../src/io/dashboard/process.js'
import { msvc, REPO } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'

// Issue #18 on the generated stack: `msvc up` with the dashboard, the graph in a real browser
// (Debian's chromium through playwright-core), a service killed by `msvc chaos kill` turning red
// within 2 s and green once it is back, and a load run with its fault window in the runs view.
// Screenshots in test/artifacts/dashboard/e2e-*.png.
// Not here yet: a request's trace across the services, which needs the kit's tracing (issue #18's
// other half); the server and browser tests export spans with the OpenTelemetry SDK instead.

const ws = inject('workspaceDir')
const name = inject('workspaceName')
const hasDocker = await dockerAvailable()
const CHROMIUM = process.env.MSVC_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(REPO, 'test', 'artifacts', 'dashboard')

describe.skipIf(!hasDocker)('msvc dashboard on the generated stack', () => {
  let record: DashboardRecord
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    // its own free ports, so that a dashboard of another workspace on 4400/4318 is no matter;
    // `msvc up` then finds this one running and prints its URL
    const otlpPort = await freePort()
    const d = await msvc(['dashboard', '--port', '0', '--otlp-port', String(otlpPort), '--json'], { cwd: ws })
    expect(d.exitCode, d.stderr).toBe(0)
    record = JSON.parse(d.stdout) as DashboardRecord
    const up = await msvc(['up', 'checkout'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
    expect(up.stderr).toContain(`dashboard: ${record.url}`)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  })

  afterAll(async () => {
    await browser?.close()
    await msvc(['chaos', 'restore'], { cwd: ws })
    const down = await msvc(['down', '--volumes'], { cwd: ws })
    expect(down.stderr).toContain('dashboard stopped')
    expect(existsSync(dashboardRecordPath(ws))).toBe(false)
  })

  const statusOf = (service: string) =>
    page.locator(`[data-service="${service}"]`).getAttribute('data-status')

  it('shows the running services green, a killed one red within 2 s, then green again', async () => {
    await page.goto(record.url)
    for (const s of ['checkout', 'order', 'payment'])
      await expect.poll(() => statusOf(s), { timeout: 15_000 }).toBe('up')
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-graph-up.png') })
    // `chaos kill` returns once payment has recovered (it times the recovery): the page is watched
    // while it runs. Red (down) whether a poll finds payment exited or restarted and not ready yet.
    const kill = msvc(['chaos', 'kill', 'payment'], { cwd: ws })
    await expect.poll(() => statusOf('payment'), { timeout: 5000, interval: 50 }).toBe('down')
    const redAt = Date.now()
    // within 2 s of the container's death, by the engine's own clock of it
    const [id] = (
      await docker([
        'ps',
        '-aq',
        '--filter',
        `label=msvc.workspace=${name}`,
        '--filter',
        'label=msvc.service=payment',
      ])
    ).split('\n')
    const died = Date.parse(await docker(['inspect', '-f', '{{.State.FinishedAt}}', id!]))
    expect(redAt - died).toBeLessThan(2000)
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-graph-killed.png') })
    const killed = await kill
    expect(killed.exitCode, killed.stderr).toBe(0)
    await expect.poll(() => statusOf('payment'), { timeout: 60_000 }).toBe('up')
  })

  it('shows a load run with its fault window next to the stack', async () => {
    const r = await msvc(
      ['loadtest', 'order', '--rate', '20', '-d', '4s', '--chaos', 'kill payment@1s', '--json'],
      { cwd: ws },
    )
    expect([0, 2]).toContain(r.exitCode)
    await mkdir(join(ws, 'load'), { recursive: true })
    await writeFile(join(ws, 'load', 'dashboard-e2e.json'), r.stdout)
    await page.locator('[data-tab="runs"]').click()
    const run = page.locator('[data-run="load/dashboard-e2e.json"]')
    await run.waitFor({ timeout: 10_000 })
    expect(await run.textContent()).toContain('payment')
    await run.click()
    await page.locator('section.run .uplot').first().waitFor({ timeout: 5000 })
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-runs.png') })
  })

  it.todo(
    'finds the trace of a request through gateway, order, payment and an event hop (needs the kit’s tracing)',
  )
})
