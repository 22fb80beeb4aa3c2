import { stringify } from 'yaml'
import type { Workspace } from '../workspace/model.js'
import { GENERATED_HEADER, PROMETHEUS_PORT, RATE_WINDOW, observedFeatures } from './prometheus.js'

export const GRAFANA_PORT = 3000
/** Where the container reads its provisioning, and where the provider finds the dashboards. */
export const GRAFANA_PROVISIONING_DIR = '/etc/grafana/provisioning'
export const GRAFANA_DASHBOARDS_DIR = '/etc/grafana/dashboards'
/** The datasource's uid: the dashboard's panels name it, so both are provisioned together. */
export const DATASOURCE_UID = 'msvc-prometheus'

/** provisioning/datasources/prometheus.yml: Prometheus on the compose network, the default source. */
export function renderDatasource(): string {
  return (
    GENERATED_HEADER +
    stringify({
      apiVersion: 1,
      datasources: [
        {
          name: 'Prometheus',
          type: 'prometheus',
          uid: DATASOURCE_UID,
          access: 'proxy',
          url: `http://prometheus:${PROMETHEUS_PORT}`,
          isDefault: true,
          editable: false,
          jsonData: { timeInterval: '5s' },
        },
      ],
    })
  )
}

/** provisioning/dashboards/msvc.yml: the dashboards folder, read from files msvc writes. */
export function renderDashboardProvider(ws: Workspace): string {
  return (
    GENERATED_HEADER +
    stringify({
      apiVersion: 1,
      providers: [
        {
          name: 'msvc',
          folder: ws.name,
          type: 'file',
          disableDeletion: true,
          allowUiUpdates: false,
          options: { path: GRAFANA_DASHBOARDS_DIR },
        },
      ],
    })
  )
}

export interface PanelTarget {
  refId: string
  expr: string
  legendFormat: string
  datasource: { type: 'prometheus'; uid: string }
}

export interface Panel {
  id: number
  type: 'timeseries' | 'row' | 'stat'
  title: string
  gridPos: { h: number; w: number; x: number; y: number }
  datasource?: { type: 'prometheus'; uid: string }
  targets?: PanelTarget[]
  fieldConfig?: { defaults: { unit?: string; min?: number; max?: number }; overrides: [] }
  options?: Record<string, unknown>
  collapsed?: boolean
}

export interface Dashboard {
  uid: string
  title: string
  tags: string[]
  timezone: 'browser'
  schemaVersion: number
  version: number
  refresh: string
  time: { from: string; to: string }
  editable: boolean
  templating: { list: Record<string, unknown>[] }
  annotations: { list: [] }
  panels: Panel[]
}

const DS = { type: 'prometheus' as const, uid: DATASOURCE_UID }

/**
 * The dashboard: RED per service (rate, error ratio, p50/p95/p99) from the recording rules, the
 * replicas Prometheus scrapes, and rows for what the workspace has: gRPC, circuit breakers,
 * events, sagas, the gateway. `$service` filters the service rows.
 */
export function buildDashboard(ws: Workspace): Dashboard {
  const f = observedFeatures(ws)
  const w = RATE_WINDOW
  const panels: Panel[] = []
  let y = 0
  let id = 1
  const row = (title: string) => {
    panels.push({ id: id++, type: 'row', title, gridPos: { h: 1, w: 24, x: 0, y }, collapsed: false })
    y += 1
  }
  /** Panels of a row, two abreast. */
  const charts = (
    list: { title: string; unit: string; targets: [expr: string, legend: string][]; type?: 'stat' }[],
  ) => {
    list.forEach((c, i) => {
      panels.push({
        id: id++,
        type: c.type ?? 'timeseries',
        title: c.title,
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        datasource: DS,
        targets: c.targets.map(([expr, legendFormat], t) => ({
          refId: String.fromCharCode(65 + t),
          expr,
          legendFormat,
          datasource: DS,
        })),
        fieldConfig: { defaults: { unit: c.unit }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi' } },
      })
    })
    y += Math.ceil(list.length / 2) * 8
  }
  const sel = 'service=~"$service"'

  row('Requests (HTTP): rate, errors, duration')
  charts([
    {
      title: 'Requests per second',
      unit: 'reqps',
      targets: [[`service:http_requests:rate${w}{${sel}}`, '{{service}}']],
    },
    {
      title: 'Error ratio (5xx)',
      unit: 'percentunit',
      targets: [[`service:http_error_ratio:rate${w}{${sel}}`, '{{service}}']],
    },
    {
      title: 'Duration p50 / p95 / p99',
      unit: 's',
      targets: (['p50', 'p95', 'p99'] as const).map((q) => [
        `service:http_request_duration_seconds:${q}_${w}{${sel}}`,
        `{{service}} ${q}`,
      ]),
    },
    {
      title: 'Replicas scraped (up)',
      unit: 'short',
      targets: [
        [`sum by (job) (up{job=~"$service"})`, '{{job}} up'],
        [`count by (job) (up{job=~"$service"})`, '{{job}} found'],
      ],
    },
    {
      title: 'Requests per second by route',
      unit: 'reqps',
      targets: [[`service_route:http_requests:rate${w}{${sel}}`, '{{service}} {{method}} {{route}}']],
    },
  ])
  if (f.grpc) {
    row('gRPC: rate, errors, duration')
    charts([
      {
        title: 'Calls per second',
        unit: 'reqps',
        targets: [[`service:grpc_server_handled:rate${w}{${sel}}`, '{{service}}']],
      },
      {
        title: 'Server error ratio',
        unit: 'percentunit',
        targets: [[`service:grpc_server_error_ratio:rate${w}{${sel}}`, '{{service}}']],
      },
      {
        title: 'Duration p99',
        unit: 's',
        targets: [[`service:grpc_server_handling_seconds:p99_${w}{${sel}}`, '{{service}}']],
      },
    ])
  }
  if (f.breakers) {
    row('Circuit breakers')
    charts([
      {
        title: 'Breaker state (0 closed, 1 open, 2 half-open)',
        unit: 'short',
        targets: [[`max by (service, target) (circuit_breaker_state{${sel}})`, '{{service}} → {{target}}']],
      },
      {
        title: 'Breakers opened (per 5 min)',
        unit: 'short',
        targets: [
          [
            `sum by (service, target) (increase(circuit_breaker_transitions_total{${sel},to="open"}[5m]))`,
            '{{service}} → {{target}}',
          ],
        ],
      },
    ])
  }
  if (f.events) {
    row('Events')
    charts([
      {
        title: 'Published per second',
        unit: 'ops',
        targets: [
          [`sum by (service, type) (service_type:events_published:rate${w}{${sel}})`, '{{service}} {{type}}'],
        ],
      },
      {
        title: 'Consumed per second, by result',
        unit: 'ops',
        targets: [
          [
            `sum by (service, type, result) (service_type_result:events_consumed:rate${w}{${sel}})`,
            '{{service}} {{type}} {{result}}',
          ],
        ],
      },
      {
        title: 'Dead-lettered (last 10 min)',
        unit: 'short',
        targets: [[`service_type:events_dead_lettered:increase10m{${sel}}`, '{{service}} {{type}}']],
      },
      {
        title: 'Handler duration p99',
        unit: 's',
        targets: [[`service:event_handler_duration_seconds:p99_${w}{${sel}}`, '{{service}}']],
      },
    ])
  }
  if (f.sagas) {
    row('Sagas')
    charts([
      {
        title: 'Ended per minute, by outcome',
        unit: 'short',
        targets: [[`sum by (saga, outcome) (increase(saga_ended_total[1m]))`, '{{saga}} {{outcome}}']],
      },
      {
        title: 'In flight / stuck',
        unit: 'short',
        targets: [
          ['sum by (saga) (saga_in_flight)', 'in flight'],
          ['max by (saga) (saga_stuck)', '{{saga}} stuck'],
        ],
      },
    ])
  }
  if (f.gateway) {
    row('Gateway upstreams')
    charts([
      {
        title: 'Attempts per second, by outcome',
        unit: 'reqps',
        targets: [[`upstream_outcome:gateway_upstream_requests:rate${w}`, '{{upstream}} {{outcome}}']],
      },
      {
        title: 'Upstream p99',
        unit: 's',
        targets: [[`upstream:gateway_upstream_request_duration_seconds:p99_${w}`, '{{upstream}}']],
      },
      {
        title: 'Instances by state',
        unit: 'short',
        targets: [['sum by (upstream, state) (gateway_upstream_instances)', '{{upstream}} {{state}}']],
      },
    ])
  }
  const services = Object.keys(ws.services).sort()
  return {
    uid: `msvc-${ws.name}`.slice(0, 40),
    title: `${ws.name}: RED, breakers, events`,
    tags: ['msvc'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '5s',
    time: { from: 'now-15m', to: 'now' },
    editable: false,
    templating: {
      list: [
        {
          name: 'service',
          label: 'service',
          type: 'custom',
          // the services of msvc.yaml: known before any has been scraped
          query: services.join(','),
          multi: true,
          includeAll: true,
          allValue: '.*',
          current: { selected: true, text: ['All'], value: ['$__all'] },
          options: [],
        },
      ],
    },
    annotations: { list: [] },
    panels,
  }
}

export const renderDashboard = (ws: Workspace): string => JSON.stringify(buildDashboard(ws), null, 2) + '\n'
