import { listObservabilityBackends, type ObservabilityBackend, type Workspace } from '../workspace/model.js'
import { renderDashboard, renderDashboardProvider, renderDatasource } from './grafana.js'
import { renderPrometheusConfig, renderRules } from './prometheus.js'

/** Where msvc writes the backends' configuration, relative to the workspace (git-ignored: derived). */
export const OBSERVABILITY_DIR = '.msvc/observability'

export interface GeneratedFile {
  /** relative to the workspace's root */
  path: string
  contents: string
}

/** The configuration files of one backend (Jaeger needs none: its flags are in compose). */
export function listBackendFiles(ws: Workspace, backend: ObservabilityBackend): GeneratedFile[] {
  const dir = `${OBSERVABILITY_DIR}/${backend}`
  switch (backend) {
    case 'prometheus':
      return [
        { path: `${dir}/prometheus.yml`, contents: renderPrometheusConfig(ws) },
        { path: `${dir}/rules.yml`, contents: renderRules(ws) },
      ]
    case 'grafana':
      return [
        { path: `${dir}/provisioning/datasources/prometheus.yml`, contents: renderDatasource() },
        { path: `${dir}/provisioning/dashboards/msvc.yml`, contents: renderDashboardProvider(ws) },
        { path: `${dir}/dashboards/msvc.json`, contents: renderDashboard(ws) },
      ]
    case 'jaeger':
      return []
  }
}

/** Every file of the backends msvc.yaml turns on. */
export const listObservabilityFiles = (ws: Workspace): GeneratedFile[] =>
  listObservabilityBackends(ws).flatMap((b) => listBackendFiles(ws, b))

/**
 * A hash of a backend's files, as a label on its compose service: a changed rule or scrape job
 * changes the compose file, so `up` runs compose, which recreates the container that reads them
 * (Prometheus and Grafana read their files at start). It only has to tell one content from
 * another, so it is 64-bit FNV-1a computed here: `src/core` is also type-checked for the dashboard's
 * browser bundle (graph.ts reads the stack), where `node:crypto` does not exist.
 */
export function backendConfigHash(ws: Workspace, backend: ObservabilityBackend): string {
  const MASK = (1n << 64n) - 1n
  let h = 0xcbf29ce484222325n
  const add = (text: string) => {
    for (const byte of new TextEncoder().encode(`${text}\0`)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & MASK
  }
  for (const f of listBackendFiles(ws, backend)) {
    add(f.path)
    add(f.contents)
  }
  return h.toString(16).padStart(16, '0')
}
