import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { dashboardRecordPath, type DashboardRecord } from '../../src/io/dashboard/process.js'
import { msvc, REPO } from '../helpers/cli.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { DASHBOARD_OTLP_PORT } from '../../src/core/compose/build-stack.js'
import type { Span } from '../../src/core/dashboard/spans.js'

// Issue #18 on the generated stack: `msvc up` with the dashboard, the graph in a real browser
// (Debian's chromium through playwright-core), a service killed by `msvc chaos kill` turning red
// within 2 s and green once it is back, and a load run with its fault window in the runs view.
// A request sent through the gateway is traced across gateway, order and, over an event, payment
// and notifier, and its waterfall is checked by span parentage.
// Screenshots in test/artifacts/dashboard/e2e-*.png.

const ws = inject('workspaceDir')
const name = inject('workspaceName')
const hasDocker = await dockerAvailable()
/** the gateway's published port */
const GATEWAY = 'http://127.0.0.1:8080'
const CHROMIUM = process.env.MSVC_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(REPO, 'test', 'artifacts', 'dashboard')

describe.skipIf(!hasDocker)('msvc dashboard on the generated stack', () => {
  let record: DashboardRecord
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    // a free port for the page, so that a dashboard of another workspace on 4400 is no matter; the
    // receiver on 4318, where compose points the stack's services (DASHBOARD_OTLP_PORT). `msvc up`
    // then finds this one running and prints its URL
    const d = await msvc(['dashboard', '--port', '0', '--otlp-port', String(DASHBOARD_OTLP_PORT), '--json'], {
      cwd: ws,
    })
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
    // the run keeps its report in .msvc/runs/ (git- and prettier-ignored), named by its start
    const started = (JSON.parse(r.stdout) as { startedAt: string }).startedAt
    const id = `.msvc/runs/load-${started.replace(/[:.]/g, '-')}.json`
    await page.locator('[data-tab="runs"]').click()
    const run = page.locator(`[data-run="${id}"]`)
    await run.waitFor({ timeout: 10_000 })
    expect(await run.textContent()).toContain('payment')
    await run.click()
    await page.locator('section.run .uplot').first().waitFor({ timeout: 5000 })
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-runs.png') })
  })

  it('finds the trace of a request through the gateway, order and an event hop to payment', async () => {
    const up = await msvc(['up', 'gateway', 'notifier'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
    const t = await msvc(['token', '--sub', 'e2e-trace'], { cwd: ws })
    expect(t.exitCode, t.stderr).toBe(0)
    // the test is the trace's root: the gateway continues the sampled context it is sent
    const traceId = randomBytes(16).toString('hex')
    const rootSpan = randomBytes(8).toString('hex')
    const created = await fetch(`${GATEWAY}/api/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${t.stdout.trim()}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${rootSpan}-01`,
      },
      body: JSON.stringify({ name: `traced ${traceId.slice(0, 8)}` }),
    })
    expect(created.status, await created.clone().text()).toBe(201)

    type Row = { span: Span; depth: number; orphan: boolean }
    const spansOf = async (): Promise<Span[]> => {
      const r = await fetch(`${record.url}/api/traces/${traceId}`)
      return r.ok ? ((await r.json()) as { rows: Row[] }).rows.map((row) => row.span) : []
    }
    // each service exports within its batch delay (a second or so) of ending its spans: wait for
    // the gateway's and order's server spans, order's producer span and both consumers' spans
    const wanted = [
      'gateway:server',
      'order:server',
      'order:producer',
      'payment:consumer',
      'notifier:consumer',
    ]
    const present = async () => {
      const kinds = new Set((await spansOf()).map((s) => `${s.service}:${s.kind}`))
      return wanted.filter((w) => kinds.has(w))
    }
    await expect.poll(present, { timeout: 15_000, interval: 250 }).toEqual(wanted)
    const spans = await spansOf()
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const parentOf = (s: Span) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined)
    /** the chain of services from a span up to the root, nearest first */
    const ancestry = (s: Span): string[] => {
      const out: string[] = []
      for (let p = parentOf(s); p; p = parentOf(p)) out.push(`${p.service}:${p.kind}`)
      return out
    }
    const gatewayServer = spans.find((s) => s.service === 'gateway' && s.kind === 'server')
    expect(gatewayServer?.parentSpanId).toBe(rootSpan)
    const orderServer = spans.find((s) => s.service === 'order' && s.kind === 'server')
    expect(orderServer, JSON.stringify(spans.map((s) => [s.service, s.kind, s.name]))).toBeDefined()
    // order's server span sits under the gateway's span of the request, whose context the proxy
    // sends upstream (the gateway makes no client span of its own per attempt)
    expect(parentOf(orderServer!)).toBe(gatewayServer)
    const producer = spans.find((s) => s.service === 'order' && s.kind === 'producer')
    expect(producer?.name).toContain('order.created')
    expect(ancestry(producer!)).toContain('order:server')
    for (const consumer of spans.filter((s) => s.kind === 'consumer')) {
      // each consumer is a child of the producer: the event carried its context
      expect(consumer.parentSpanId).toBe(producer!.spanId)
      expect(ancestry(consumer)).toEqual(
        expect.arrayContaining(['order:producer', 'order:server', 'gateway:server']),
      )
    }
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['gateway', 'order', 'payment', 'notifier']))

    // and in the page: the trace found by its id, its waterfall with a row for each span
    await page.locator('[data-tab="traces"]').click()
    await page.getByLabel('trace id').fill(traceId)
    await page.locator(`[data-trace="${traceId}"]`).click()
    await expect.poll(() => page.locator('[data-span]').count(), { timeout: 5000 }).toBe(spans.length)
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-trace.png') })
    // from order's server span, its logs: the line order wrote while serving the request
    await page.locator(`[data-span="${orderServer!.spanId}"]`).click()
    await page.locator(`[data-span-logs="${orderServer!.spanId}"]`).click()
    const line = page.locator('.log-lines .log').first()
    await line.waitFor({ timeout: 5000 })
    expect(new Set(await page.locator('.log-lines .log .svc').allTextContents())).toEqual(new Set(['order']))
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-span-logs.png') })
  })
})
