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
