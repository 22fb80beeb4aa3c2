import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { msvc } from '../helpers/cli.js'
import { containersWithLabel, docker, dockerAvailable } from '../helpers/docker.js'

// Issue 18, "Metrics collected": `observability: { prometheus: true }` in the shared workspace,
// payment at two replicas, `msvc up payment prometheus`. Prometheus (the local stand-in of
// prom/prometheus v2.42: its HTTP API, no web UI) must find both replicas through DNS, scrape them,
// and evaluate the generated rules; every query of the generated Grafana dashboard must run.

const ws = inject('workspaceDir')
const name = inject('workspaceName')
const hasDocker = await dockerAvailable()
const PROM = 'http://127.0.0.1:9090'

interface Target {
  labels: Record<string, string>
  scrapeUrl: string
  health: 'up' | 'down' | 'unknown'
  lastError: string
}
interface Rule {
  name: string
  type: 'recording' | 'alerting'
  health: string
  lastError?: string
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(PROM + path)
  const body = (await res.json()) as { status: string; data: T; error?: string }
  if (body.status !== 'success') throw new Error(`${path}: ${body.error ?? res.status}`)
  return body.data
}

/** Retries `check` until it passes, up to `ms`; the last failure is thrown. */
async function eventually<T>(check: () => Promise<T>, ms: number): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (e) {
      if (Date.now() > until) throw e
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
}

describe.skipIf(!hasDocker)('Prometheus from observability: in msvc.yaml, against a real engine', () => {
  const file = join(ws, 'msvc.yaml')
  let original = ''
  let port = 0

  beforeAll(async () => {
    original = await readFile(file, 'utf8')
    const payment = /( {2}payment:\n(?: {4}.*\n)*?) {4}replicas: 1\n/
    if (!payment.test(original)) throw new Error('no replicas line for payment in msvc.yaml')
    port = Number(/ {2}payment:\n(?: {4}.*\n)*? {4}ports: \{ http: (\d+)/.exec(original)![1])
    await writeFile(
      file,
      original.replace(payment, '$1    replicas: 2\n') + 'observability: { prometheus: true }\n',
    )
  })

  afterAll(async () => {
    await msvc(['down', '--volumes'], { cwd: ws })
    await writeFile(file, original)
  })

  it('starts Prometheus with the stack, labelled as the workspace, its API on 127.0.0.1', async () => {
    const r = await msvc(['up', 'payment', 'prometheus', '--no-dashboard', '--json'], { cwd: ws })
    expect(r.exitCode, r.stderr).toBe(0)
    const up = JSON.parse(r.stdout) as { services: { service: string; http?: string }[] }
    expect(up.services.map((s) => s.service).sort()).toEqual(['nats', 'payment', 'prometheus'])
    expect(up.services.find((s) => s.service === 'prometheus')!.http).toBe(PROM)
    const [id] = await containersWithLabel(`msvc.service=prometheus`)
    expect(await docker(['inspect', '-f', '{{index .Config.Labels "msvc.workspace"}}', id!])).toBe(name)
    expect(await docker(['port', id!, '9090/tcp'])).toBe('127.0.0.1:9090')
    expect((await fetch(`${PROM}/-/ready`)).status).toBe(200)
  })

  it('scrapes every replica of payment, found through DNS: one target up per container', async () => {
    const ids = await containersWithLabel(`msvc.service=payment`)
    expect(ids).toHaveLength(2)
    const addresses = await Promise.all(
      ids.map((id) =>
        docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', id]),
      ),
    )
    const targets = await eventually(async () => {
      const data = await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active')
      const mine = data.activeTargets.filter((t) => t.labels.job === 'payment')
      expect(mine.map((t) => `${t.health} ${t.lastError}`)).toEqual(['up ', 'up '])
      return mine
    }, 60_000)
    expect(targets.map((t) => t.labels.instance).sort()).toEqual(addresses.map((a) => `${a}:${port}`).sort())
    for (const t of targets) expect(t.scrapeUrl).toMatch(new RegExp(`^http://[\\d.]+:${port}/metrics$`))
  })

  it('evaluates the generated rules, and the RED series exist once payment has had traffic', async () => {
    // traffic from inside the network (two replicas publish no port): the name picks a replica each time
    const [prom] = await containersWithLabel(`msvc.service=prometheus`)
    for (let i = 0; i < 20; i++)
      await docker(['exec', prom!, 'wget', '-q', '-O', '/dev/null', `http://payment:${port}/payments`])
    const groups = await eventually(async () => {
      const data = await api<{ groups: { name: string; rules: Rule[] }[] }>('/api/v1/rules')
      const rules = data.groups.flatMap((g) => g.rules)
      expect(
        rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`),
      ).toEqual([])
      return data.groups
    }, 30_000)
    // the API lists the groups by name
    expect(groups.map((g) => g.name).sort()).toEqual([
      'msvc-alerts',
      'msvc-events',
      'msvc-gateway',
      'msvc-grpc-red',
      'msvc-http-red',
    ])
    const alerts = groups.find((g) => g.name === 'msvc-alerts')!.rules
    expect(alerts.every((r) => r.type === 'alerting')).toBe(true)
    expect(alerts.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        'MsvcReplicaDown',
        'MsvcHttpErrorRatio',
        'MsvcHttpLatencyP99',
        'MsvcDeadLetters',
      ]),
    )
    for (const record of [
      'service:http_requests:rate1m',
      'service:http_request_duration_seconds:p99_1m',
      'service_route:http_requests:rate1m',
    ]) {
      const series = await eventually(async () => {
        const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          `/api/v1/query?query=${encodeURIComponent(`${record}{service="payment"}`)}`,
        )
        expect(data.result.length, record).toBeGreaterThan(0)
        return data.result
      }, 60_000)
      expect(series[0]!.metric.service).toBe('payment')
    }
    // the scrapes are not traffic: only the route payment was asked for
    const routes = await api<{ result: { metric: Record<string, string> }[] }>(
      `/api/v1/query?query=${encodeURIComponent('service_route:http_requests:rate1m{service="payment"}')}`,
    )
    expect(routes.result.map((r) => r.metric.route)).toEqual(['/payments'])
  })

  it('finds a third replica by itself: same Prometheus container, same files, one more target', async () => {
    const [before] = await containersWithLabel(`msvc.service=prometheus`)
    const text = await readFile(file, 'utf8')
    await writeFile(
      file,
      text.replace(/( {2}payment:\n(?: {4}.*\n)*?) {4}replicas: 2\n/, '$1    replicas: 3\n'),
    )
    const r = await msvc(['up', 'payment', 'prometheus', '--no-dashboard', '--json'], { cwd: ws })
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await containersWithLabel(`msvc.service=payment`)).toHaveLength(3)
    // replicas are not in Prometheus's configuration: its container was left as it was
    expect(await containersWithLabel(`msvc.service=prometheus`)).toEqual([before])
    await eventually(async () => {
      const data = await api<{ activeTargets: Target[] }>('/api/v1/targets?state=active')
      const mine = data.activeTargets.filter((t) => t.labels.job === 'payment')
      expect(mine.map((t) => t.health)).toEqual(['up', 'up', 'up'])
    }, 60_000)
  })

  it('runs every query of the generated Grafana dashboard without an error', async () => {
    // Grafana is off in this stack (it cannot run here), so its files are not written: the
    // queries come from the same builder
    const exprs = await dashboardQueries()
    expect(exprs.length).toBeGreaterThan(10)
    for (const expr of exprs)
      await api(`/api/v1/query?query=${encodeURIComponent(expr.replace(/\$service/g, '.*'))}`)
  })
})

/** The queries of the dashboard msvc writes for this workspace when grafana is on. */
async function dashboardQueries(): Promise<string[]> {
  const { parseWorkspace } = await import('../../src/core/workspace/parse.js')
  const { buildDashboard } = await import('../../src/core/observability/grafana.js')
  const parsed = parseWorkspace(await readFile(join(ws, 'msvc.yaml'), 'utf8'))
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  return buildDashboard(parsed.workspace)
    .panels.flatMap((p) => p.targets ?? [])
    .map((t) => t.expr)
}
