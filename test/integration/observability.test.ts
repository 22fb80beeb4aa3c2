import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execa } from 'execa'
import { parse, stringify } from 'yaml'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { msvc } from '../helpers/cli.js'
import { promtoolAvailable } from '../helpers/promtool.js'
import { makeTempDir } from '../helpers/temp-dir.js'

// Issue 18: `observability:` in msvc.yaml, through the built bin on a real filesystem. The generated
// Prometheus files go through promtool (Debian's, the version of the image msvc pins); Grafana's
// dashboard queries go through promtool too, as rules: Grafana itself cannot run here.

const hasPromtool = await promtoolAvailable()
const hasComposeV1 =
  (await execa('docker-compose', ['version'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode ===
  0

const YAML = `name: obs
observability: { prometheus: true, grafana: true, jaeger: true }
services:
  gateway:
    kind: gateway
    ports: { http: 8080 }
  order:
    capabilities: [http, grpc, events]
    ports: { http: 3001, grpc: 50051 }
    calls: [payment]
    publishes: [order.created]
    replicas: 2
    store: postgres
    fields: { total: number! }
  payment:
    capabilities: [http]
    ports: { http: 3002 }
    operations:
      charge: { on: collection, input: { amount: number! } }
      refund: { on: collection, input: { amount: number! } }
  notifier:
    capabilities: [events]
    ports: { http: 3003 }
    subscribes: [order.created]
events:
  order.created: { schema: { id: string } }
sagas:
  checkout:
    owner: order
    steps:
      - { name: pay, call: payment.charge, compensate: payment.refund, input: { amount: input.total } }
`

const OBS = '.msvc/observability'
let root: string
beforeEach(async () => {
  root = await makeTempDir('msvc-obs-')
})
afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

const promtool = (args: string[]) => execa('promtool', args, { reject: false, all: true })

describe('msvc compose with observability', () => {
  it('writes the backends and their files beside docker-compose.yml', async () => {
    await writeFile(join(root, 'msvc.yaml'), YAML)
    const r = await msvc(['compose'], { cwd: root })
    expect(r.exitCode, r.stderr).toBe(0)
    const compose = parse(await readFile(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { image: string; volumes?: string[] }>
    }
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['prometheus', 'grafana', 'jaeger']))
    const files = (await readdir(join(root, OBS), { recursive: true })).sort()
    expect(files).toEqual([
      'grafana',
      'grafana/dashboards',
      'grafana/dashboards/msvc.json',
      'grafana/provisioning',
      'grafana/provisioning/dashboards',
      'grafana/provisioning/dashboards/msvc.yml',
      'grafana/provisioning/datasources',
      'grafana/provisioning/datasources/prometheus.yml',
      'prometheus',
      'prometheus/prometheus.yml',
      'prometheus/rules.yml',
    ])
    // Prometheus runs as nobody: its files must be readable whatever the umask
    expect((await stat(join(root, OBS, 'prometheus/rules.yml'))).mode & 0o777).toBe(0o644)
    // every mount of a backend names a folder msvc wrote
    for (const name of ['prometheus', 'grafana'])
      for (const v of compose.services[name]!.volumes ?? [])
        if (v.startsWith('./')) expect(existsSync(join(root, v.split(':')[0]!)), v).toBe(true)
  })

  it.skipIf(!hasPromtool)('writes a prometheus.yml and rules.yml that promtool accepts', async () => {
    await writeFile(join(root, 'msvc.yaml'), YAML)
    expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
    const config = await promtool(['check', 'config', join(root, OBS, 'prometheus/prometheus.yml')])
    expect(config.exitCode, config.all).toBe(0)
    expect(config.all).toMatch(/SUCCESS: \d+ rules found/)
    const rules = await promtool(['check', 'rules', join(root, OBS, 'prometheus/rules.yml')])
    expect(rules.exitCode, rules.all).toBe(0)
  })

  it.skipIf(!hasPromtool)(
    'writes Grafana panels whose every query is PromQL that promtool parses',
    async () => {
      await writeFile(join(root, 'msvc.yaml'), YAML)
      expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
      const dashboard = JSON.parse(
        await readFile(join(root, OBS, 'grafana/dashboards/msvc.json'), 'utf8'),
      ) as {
        panels: { targets?: { expr: string }[] }[]
      }
      const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr)
      expect(exprs.length).toBeGreaterThan(10)
      // each query as a recording rule, the dashboard variable at its "All" value
      const rules = exprs.map((expr, i) => ({
        record: `dashboard_query_${i}`,
        expr: expr.replace(/\$service/g, '.*'),
      }))
      const file = join(root, 'panels.rules.yml')
      await writeFile(file, stringify({ groups: [{ name: 'panels', rules }] }))
      const r = await promtool(['check', 'rules', file])
      expect(r.exitCode, r.all).toBe(0)
      expect(r.all).toContain(`SUCCESS: ${exprs.length} rules found`)
    },
  )

  // promtool's own rule unit tests: made-up series in, the generated rules' results and alerts out
  it.skipIf(!hasPromtool)('records and alerts as documented (promtool test rules)', async () => {
    await writeFile(join(root, 'msvc.yaml'), YAML)
    expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
    const http = (service: string, route: string, status: number, values: string) => ({
      series: `http_requests_total{service="${service}",route="${route}",method="GET",status_code="${status}"}`,
      values,
    })
    const bucket = (le: string, values: string) => ({
      series: `http_request_duration_seconds_bucket{service="payment",route="/payments",method="GET",status_code="200",le="${le}"}`,
      values,
    })
    const alert = (
      alertname: string,
      labels: Record<string, string>,
      summary: string,
      description?: string,
    ) => ({
      eval_time: '3m',
      alertname,
      exp_alerts: [
        { exp_labels: labels, exp_annotations: { summary, ...(description ? { description } : {}) } },
      ],
    })
    const none = (alertname: string) => ({ eval_time: '3m', alertname, exp_alerts: [] })
    const tests = {
      rule_files: [join(root, OBS, 'prometheus/rules.yml')],
      evaluation_interval: '5s',
      tests: [
        {
          interval: '5s',
          input_series: [
            // order: 10 % of its requests fail; notifier: 1 %; payment: slow, and scraped
            http('order', '/orders', 200, '0+90x60'),
            http('order', '/orders', 500, '0+10x60'),
            http('notifier', '/health/ready', 200, '0+1000x60'),
            http('notifier', '/things', 200, '0+99x60'),
            http('notifier', '/things', 503, '0+1x60'),
            http('payment', '/metrics', 200, '0+1x60'),
            bucket('0.5', '0x60'),
            bucket('1', '0+10x60'),
            bucket('+Inf', '0+10x60'),
            http('payment', '/payments', 200, '0+10x60'),
            // order's breaker for payment opens; gateway's for order goes open and half-open in turn
            { series: 'circuit_breaker_state{service="order",target="payment"}', values: '0x10 1x50' },
            {
              series: 'circuit_breaker_state{service="gateway",target="order"}',
              values: '0x20 1 2 1 2 1 2x35',
            },
            {
              series:
                'circuit_breaker_transitions_total{service="gateway",target="order",from="closed",to="open"}',
              values: '0x20 1x40',
            },
            {
              series:
                'circuit_breaker_transitions_total{service="gateway",target="order",from="half-open",to="open"}',
              values: '0x22 1 2x37',
            },
            { series: 'circuit_breaker_state{service="checkout",target="order"}', values: '0x60' },
            {
              series: 'events_dead_lettered_total{service="notifier",type="order.created"}',
              values: '0x10 1x50',
            },
            // both replicas of the owner report the same count: one alert, its value 2
            { series: 'saga_stuck{service="order",saga="checkout",instance="a"}', values: '2x60' },
            { series: 'saga_stuck{service="order",saga="checkout",instance="b"}', values: '2x60' },
            { series: 'up{job="order",instance="10.0.0.2:3001"}', values: '1x5 0x55' },
            { series: 'up{job="order",instance="10.0.0.3:3001"}', values: '1x60' },
          ],
          promql_expr_test: [
            {
              expr: 'service:http_error_ratio:rate1m',
              eval_time: '3m',
              exp_samples: [
                { labels: 'service:http_error_ratio:rate1m{service="notifier"}', value: 0.01 },
                { labels: 'service:http_error_ratio:rate1m{service="order"}', value: 0.1 },
              ],
            },
            // scrapes and health probes are not traffic
            {
              expr: 'service_route:http_requests:rate1m{service=~"payment|notifier"}',
              eval_time: '3m',
              exp_samples: [
                {
                  labels:
                    'service_route:http_requests:rate1m{service="notifier",method="GET",route="/things"}',
                  value: 20,
                },
                {
                  labels:
                    'service_route:http_requests:rate1m{service="payment",method="GET",route="/payments"}',
                  value: 2,
                },
              ],
            },
          ],
          alert_rule_test: [
            alert(
              'MsvcHttpErrorRatio',
              { severity: 'warning', service: 'order' },
              'order answers more than 5% of its HTTP requests with a 5xx',
            ),
            alert(
              'MsvcHttpLatencyP99',
              { severity: 'warning', service: 'payment' },
              "payment's HTTP p99 is above 500 ms",
            ),
            // open now (order's), or opened within 2 minutes while flapping (the gateway's); not
            // checkout's, closed throughout
            {
              eval_time: '3m',
              alertname: 'MsvcCircuitBreakerOpen',
              exp_alerts: [
                ['gateway', 'order'],
                ['order', 'payment'],
              ].map(([service, target]) => ({
                exp_labels: { severity: 'warning', service: service!, target: target! },
                exp_annotations: { summary: `${service}'s circuit breaker for ${target} is open` },
              })),
            },
            alert(
              'MsvcDeadLetters',
              { severity: 'warning', service: 'notifier', type: 'order.created' },
              'notifier dead-lettered 1 order.created event(s) in 10 minutes',
              'msvc events dlq lists them; msvc events dlq --replay sends them again once the cause is fixed',
            ),
            alert(
              'MsvcSagaStuck',
              { severity: 'critical', service: 'order', saga: 'checkout' },
              '2 checkout saga(s) of order are stuck: a compensation failed every attempt',
              'msvc saga ls shows them; msvc saga retry once the cause is fixed',
            ),
            alert(
              'MsvcReplicaDown',
              { severity: 'critical', job: 'order', instance: '10.0.0.2:3001' },
              'A replica of order (10.0.0.2:3001) does not answer its /metrics scrape',
            ),
            none('MsvcGrpcErrorRatio'),
          ],
        },
      ],
    }
    const file = join(root, 'rules.test.yml')
    await writeFile(file, stringify(tests))
    const r = await promtool(['test', 'rules', file])
    expect(r.exitCode, r.all).toBe(0)
    expect(r.all).toContain('SUCCESS')
  })

  it.skipIf(!hasComposeV1)(
    'writes a compose file that docker-compose itself accepts, backends included',
    async () => {
      await writeFile(join(root, 'msvc.yaml'), YAML)
      expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
      // what compose checks beside the file: each build context, the gateway's secret in .env
      for (const s of ['gateway', 'order', 'payment', 'notifier'])
        await mkdir(join(root, 'services', s), { recursive: true })
      await writeFile(join(root, '.env'), 'MSVC_JWT_SECRET=test\n')
      const r = await execa('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
        cwd: root,
        reject: false,
        all: true,
      })
      expect(r.exitCode, r.all).toBe(0)
      const resolved = parse(r.stdout) as {
        services: Record<string, { volumes?: unknown[]; command?: string[] }>
      }
      expect(resolved.services.jaeger!.command).toEqual([
        '--set',
        'receivers.otlp.protocols.http.endpoint=0.0.0.0:4318',
        '--set',
        'receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317',
      ])
      expect(JSON.stringify(resolved.services.prometheus!.volumes)).toContain(join(root, OBS, 'prometheus'))
    },
  )

  it('removes the files of a backend turned off, and all of them with observability gone', async () => {
    await writeFile(join(root, 'msvc.yaml'), YAML)
    expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
    await writeFile(join(root, 'msvc.yaml'), YAML.replace('grafana: true', 'grafana: false'))
    expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
    expect(existsSync(join(root, OBS, 'grafana'))).toBe(false)
    expect(existsSync(join(root, OBS, 'prometheus/rules.yml'))).toBe(true)
    await writeFile(join(root, 'msvc.yaml'), YAML.replace(/^observability:.*\n/m, ''))
    expect((await msvc(['compose'], { cwd: root })).exitCode).toBe(0)
    expect(await readdir(join(root, OBS))).toEqual([])
    expect(await readFile(join(root, 'docker-compose.yml'), 'utf8')).not.toContain('prometheus')
  })

  it.each([
    ['observability: { prometheus: true, zipkin: true }', 'unknown field "zipkin" in observability'],
    ['observability: { prometheus: "yes" }', 'observability.prometheus must be a boolean'],
    ['observability: { grafana: true }', 'observability.grafana needs prometheus'],
  ])('refuses %s: one line with its place in msvc.yaml, exit 1, nothing written', async (line, message) => {
    await writeFile(join(root, 'msvc.yaml'), YAML.replace(/^observability:.*$/m, line))
    const r = await msvc(['compose'], { cwd: root })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toContain(`msvc.yaml:2:`)
    expect(r.stderr).toContain(message)
    expect(await readdir(root)).toEqual(['msvc.yaml'])
  })
})
