import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { buildComposeStack, LABEL, selectWithDependencies } from '../compose/build-stack.js'
import type { Workspace } from '../workspace/model.js'
import { parseWorkspace } from '../workspace/parse.js'
import { OBSERVABILITY_DIR, backendConfigHash, listObservabilityFiles } from './files.js'
import { DATASOURCE_UID, GRAFANA_DASHBOARDS_DIR, type Dashboard } from './grafana.js'
import { KIT_METRICS, listSeriesNames } from './kit-metrics.js'
import { buildPrometheusConfig, buildRuleGroups, type RecordingRule } from './prometheus.js'

const KIT_SRC = fileURLToPath(new URL('../../../templates/workspace/files/packages/kit/src', import.meta.url))

const ws = (text: string): Workspace => {
  const r = parseWorkspace(text)
  if (!r.ok) throw new Error(JSON.stringify(r.problems))
  return r.workspace
}

/** Every feature the rules and the dashboard know: HTTP, gRPC, calls, events, a saga, a gateway. */
const FULL = ws(`name: shop
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
    capabilities: [http, grpc]
    ports: { http: 3002, grpc: 50052 }
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
`)

const PLAIN = ws(`name: tiny
observability: { prometheus: true }
services:
  api:
    capabilities: [http]
    ports: { http: 3001 }
    replicas: 2
`)

/** The metric names a PromQL expression reads (not functions, keywords, labels or durations). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset'])
  const names: string[] = []
  for (const m of stripped.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*/g)) {
    const after = stripped.slice(m.index + m[0].length).trimStart()
    // a function's name, an operator, or the unit of a duration (`offset 5m`)
    if (after.startsWith('(') || keywords.has(m[0])) continue
    names.push(m[0])
  }
  return names
}

const recorded = (w: Workspace) =>
  new Set(
    buildRuleGroups(w)
      .flatMap((g) => g.rules)
      .filter((r): r is RecordingRule => 'record' in r)
      .map((r) => r.record),
  )

function kitSources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return kitSources(path)
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [readFileSync(path, 'utf8')] : []
  })
}

describe('the kit metrics the rules may name (issue 18)', () => {
  it('are exactly the families the kit registers', () => {
    const found = new Set<string>()
    for (const text of kitSources(KIT_SRC)) {
      for (const m of text.matchAll(/new (?:Counter|Gauge|Histogram)\(\{\s*name: '([a-z_:]+)'/g))
        found.add(m[1]!)
      // the HTTP families the kit computes itself (metrics.ts's register)
      for (const m of text.matchAll(/this\.register\('([a-z_:]+)'/g)) found.add(m[1]!)
    }
    expect([...found].sort()).toEqual(Object.keys(KIT_METRICS).sort())
  })
})

describe('metricNames (the checker of the queries below)', () => {
  it('finds the series a query reads and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (service, le) (rate(a_bucket{route!~"/x|y"}[1m]))) / b:c:rate1m > 0.5' +
          ' or max by (t) (d == 1) and on (t) e unless f offset 5m',
      ),
    ).toEqual(['a_bucket', 'b:c:rate1m', 'd', 'e', 'f'])
  })
})

describe('prometheus.yml', () => {
  it('has a job per service (the gateway too) finding every replica by DNS on its metrics port', () => {
    const config = buildPrometheusConfig(FULL)
    const jobs = config.scrape_configs.filter((j) => j.dns_sd_configs)
    expect(jobs.map((j) => j.job_name)).toEqual(['gateway', 'notifier', 'order', 'payment'])
    expect(jobs.find((j) => j.job_name === 'order')).toEqual({
      job_name: 'order',
      metrics_path: '/metrics',
      dns_sd_configs: [{ names: ['order'], type: 'A', port: 3001, refresh_interval: '5s' }],
    })
    expect(config.rule_files).toEqual(['rules.yml'])
    expect(config.global.external_labels).toEqual({ workspace: 'shop' })
  })
})

describe('rules.yml', () => {
  it.each([
    ['every feature', FULL],
    ['HTTP only', PLAIN],
  ])('names only kit series and rules it records (%s)', (_, w) => {
    const series = listSeriesNames()
    const records = recorded(w)
    for (const rule of buildRuleGroups(w).flatMap((g) => g.rules))
      for (const name of metricNames(rule.expr))
        expect(series.has(name) || records.has(name), `${name} in ${rule.expr}`).toBe(true)
  })

  it('records RED per service and alerts on errors, p99, breakers, dead letters and stuck sagas', () => {
    const groups = buildRuleGroups(FULL)
    expect(groups.map((g) => g.name)).toEqual([
      'msvc-http-red',
      'msvc-grpc-red',
      'msvc-events',
      'msvc-gateway',
      'msvc-alerts',
    ])
    expect([...recorded(FULL)]).toEqual(
      expect.arrayContaining([
        'service:http_requests:rate1m',
        'service:http_errors:rate1m',
        'service:http_error_ratio:rate1m',
        'service:http_request_duration_seconds:p99_1m',
        'service:grpc_server_handling_seconds:p99_1m',
      ]),
    )
    const alerts = groups.at(-1)!.rules.map((r) => ('alert' in r ? r.alert : r.record))
    expect(alerts).toEqual([
      'MsvcReplicaDown',
      'MsvcHttpErrorRatio',
      'MsvcHttpLatencyP99',
      'MsvcGrpcErrorRatio',
      'MsvcGrpcLatencyP99',
      'MsvcCircuitBreakerOpen',
      'MsvcDeadLetters',
      'MsvcSagaStuck',
    ])
  })

  it('leaves out what the workspace does not have', () => {
    expect(buildRuleGroups(PLAIN).map((g) => g.name)).toEqual(['msvc-http-red', 'msvc-alerts'])
    const alerts = buildRuleGroups(PLAIN)
      .at(-1)!
      .rules.map((r) => ('alert' in r ? r.alert : ''))
    expect(alerts).toEqual(['MsvcReplicaDown', 'MsvcHttpErrorRatio', 'MsvcHttpLatencyP99'])
  })
})

describe('Grafana (validated offline: no Grafana runs here)', () => {
  const files = new Map(listObservabilityFiles(FULL).map((f) => [f.path, f.contents]))
  const dashboard = JSON.parse(files.get(`${OBSERVABILITY_DIR}/grafana/dashboards/msvc.json`)!) as Dashboard

  it('provisions Prometheus as the default datasource, by the uid the panels name', () => {
    const ds = parse(files.get(`${OBSERVABILITY_DIR}/grafana/provisioning/datasources/prometheus.yml`)!) as {
      apiVersion: number
      datasources: Record<string, unknown>[]
    }
    expect(ds.apiVersion).toBe(1)
    expect(ds.datasources).toEqual([
      expect.objectContaining({
        type: 'prometheus',
        uid: DATASOURCE_UID,
        access: 'proxy',
        url: 'http://prometheus:9090',
        isDefault: true,
      }),
    ])
    const provider = parse(files.get(`${OBSERVABILITY_DIR}/grafana/provisioning/dashboards/msvc.yml`)!) as {
      apiVersion: number
      providers: { type: string; options: { path: string } }[]
    }
    expect(provider.apiVersion).toBe(1)
    expect(provider.providers).toEqual([
      expect.objectContaining({ type: 'file', options: { path: GRAFANA_DASHBOARDS_DIR } }),
    ])
    // the provider's folder is where compose mounts the dashboards
    const grafana = buildComposeStack(FULL).services.grafana!
    expect(grafana.volumes).toContain(
      `./${OBSERVABILITY_DIR}/grafana/dashboards:${GRAFANA_DASHBOARDS_DIR}:ro`,
    )
  })

  it('has a dashboard whose panels are well formed and query only kit series and recorded rules', () => {
    expect(dashboard).toMatchObject({ uid: 'msvc-shop', schemaVersion: 39, editable: false })
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    const series = listSeriesNames()
    const records = recorded(FULL)
    const queried = new Set<string>()
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24)
      if (p.type === 'row') continue
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: DATASOURCE_UID })
      expect(p.targets!.length, p.title).toBeGreaterThan(0)
      for (const t of p.targets!) {
        expect(t.datasource.uid).toBe(DATASOURCE_UID)
        for (const name of metricNames(t.expr)) {
          queried.add(name)
          expect(series.has(name) || records.has(name), `${name} in panel "${p.title}"`).toBe(true)
        }
      }
    }
    // the RED rules, breakers and events are all on it
    for (const name of [
      'service:http_requests:rate1m',
      'service:http_error_ratio:rate1m',
      'service:http_request_duration_seconds:p99_1m',
      'circuit_breaker_state',
      'service_type:events_dead_lettered:increase10m',
    ])
      expect(queried, name).toContain(name)
    const titles = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)
    expect(titles).toEqual([
      'Requests (HTTP): rate, errors, duration',
      'gRPC: rate, errors, duration',
      'Circuit breakers',
      'Events',
      'Sagas',
      'Gateway upstreams',
    ])
  })

  it('offers the services of msvc.yaml in its $service filter', () => {
    expect(dashboard.templating.list[0]).toMatchObject({
      name: 'service',
      query: 'gateway,notifier,order,payment',
      includeAll: true,
    })
  })
})

describe('the backends in the stack', () => {
  it('adds each backend turned on, labelled as the workspace, published on 127.0.0.1 only', () => {
    const stack = buildComposeStack(FULL)
    for (const name of ['prometheus', 'grafana', 'jaeger']) {
      const s = stack.services[name]!
      expect(s.labels).toMatchObject({ [LABEL.workspace]: 'shop', [LABEL.service]: name })
      for (const p of s.ports ?? []) expect(p).toMatch(/^127\.0\.0\.1:/)
    }
    expect(stack.services.prometheus!.volumes).toEqual([
      `./${OBSERVABILITY_DIR}/prometheus:/etc/prometheus:ro`,
      'prometheus-data:/prometheus',
    ])
    expect(stack.services.prometheus!.healthcheck!.test[1]).toContain('/-/ready')
    expect(stack.services.grafana!.depends_on).toEqual({ prometheus: { condition: 'service_healthy' } })
    expect(stack.volumes).toMatchObject({ 'prometheus-data': {}, 'grafana-data': {} })
    expect(buildComposeStack(PLAIN).services.grafana).toBeUndefined()
    expect(buildComposeStack(PLAIN).services.jaeger).toBeUndefined()
  })

  it('sends the traces to Jaeger when it is on, to the dashboard otherwise', () => {
    expect(buildComposeStack(FULL).services.order!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://jaeger:4318',
    )
    expect(buildComposeStack(PLAIN).services.api!.environment!.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(
      'http://host.docker.internal:4318',
    )
  })

  it('labels a backend with the hash of its files, so a changed rule recreates its container', () => {
    const more = ws(
      `name: tiny\nobservability: { prometheus: true }\nservices:\n  api:\n    capabilities: [http, grpc]\n` +
        '    ports: { http: 3001, grpc: 50051 }\n',
    )
    expect(backendConfigHash(more, 'prometheus')).not.toBe(backendConfigHash(PLAIN, 'prometheus'))
    expect(buildComposeStack(PLAIN).services.prometheus!.labels[LABEL.config]).toBe(
      backendConfigHash(PLAIN, 'prometheus'),
    )
  })

  it('starts a backend named on `msvc up`, Prometheus under Grafana', () => {
    expect(selectWithDependencies(FULL, ['grafana'])).toEqual(['grafana', 'prometheus'])
    expect(selectWithDependencies(FULL, ['payment', 'prometheus'])).toEqual(['payment', 'prometheus'])
  })
})
