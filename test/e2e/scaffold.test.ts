import { execa, type ResultPromise } from 'execa'
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort, waitForHttp } from '../helpers/net.js'
import { msvc } from '../helpers/cli.js'
import { enginesOf, installedPackageDirs, rangeGaps } from '../helpers/engines.js'
import { NatsServer } from '../helpers/nats.js'
import { E2E_SERVICES } from './workspace-spec.js'

const ws = inject('workspaceDir')
const npm = (args: string[]) =>
  execa('npm', args, { cwd: ws, reject: false, all: true, env: { ...process.env, CI: '1' } })

describe('generated workspace', () => {
  it('has every service in msvc.yaml and on disk', async () => {
    const r = await msvc(['ls', '--json'], { cwd: join(ws, 'services') })
    expect(r.exitCode).toBe(0)
    const listed = JSON.parse(r.stdout) as { services: { name: string; ports: { http: number } }[] }
    expect(listed.services.map((s) => s.name).sort()).toEqual(E2E_SERVICES.map((s) => s.name).sort())
    expect(new Set(listed.services.map((s) => s.ports.http)).size).toBe(E2E_SERVICES.length)
    expect((await readdir(join(ws, 'services'))).sort()).toEqual(E2E_SERVICES.map((s) => s.name).sort())
  })

  it('builds and passes its own tests with no edits, for every combination of capabilities', async () => {
    const build = await npm(['run', 'build'])
    expect(build.exitCode, build.all).toBe(0)
    const test = await npm(['test'])
    expect(test.exitCode, test.all).toBe(0)
    for (const s of E2E_SERVICES)
      expect(await readFile(join(ws, 'services', s.name, 'dist/main.js'), 'utf8')).toContain('health')
  })

  // issue #13: the workspace is created below a folder with its own vitest and eslint configs
  // (global-setup.ts), which a generated package must never pick up.
  it('is lint-clean with its own eslint config, for every combination of capabilities', async () => {
    const lint = await npm(['run', 'lint'])
    expect(lint.exitCode, lint.all).toBe(0)
    expect(lint.all).not.toContain('problem')
  })

  it('is formatted as its own prettier config wants, built and linted', async () => {
    const check = await npm(['run', 'format:check'])
    expect(check.exitCode, check.all).toBe(0)
  })

  it('stands without msvc: no package depends on it, no source imports it', async () => {
    const manifests = [
      'package.json',
      ...(await readdir(join(ws, 'packages'))).map((p) => `packages/${p}/package.json`),
      ...E2E_SERVICES.map((s) => `services/${s.name}/package.json`),
    ]
    for (const m of manifests) {
      const pkg = JSON.parse(await readFile(join(ws, m), 'utf8')) as Record<string, Record<string, string>>
      expect(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }), m).not.toContain('msvc')
    }
    const grep = await execa(
      'grep',
      ['-rlE', `from '(msvc|create-service)`, '--include=*.ts', 'services', 'packages'],
      {
        cwd: ws,
        reject: false,
      },
    )
    expect(grep.exitCode, grep.stdout).toBe(1)
  })

  it('builds thin non-root images: every Dockerfile switches to the node user before its CMD', async () => {
    for (const s of E2E_SERVICES) {
      const lines = (await readFile(join(ws, 'services', s.name, 'Dockerfile'), 'utf8')).split('\n')
      const user = lines.findIndex((l) => l.trim() === 'USER node')
      expect(user, s.name).toBeGreaterThan(0)
      expect(user, s.name).toBeLessThan(lines.findIndex((l) => l.startsWith('CMD ')))
      expect(
        lines.filter((l) => /^(RUN|ADD) /.test(l)),
        s.name,
      ).toEqual([])
    }
  })

  it('installed with no engine warning on this Node', () => {
    expect(inject('workspaceInstallLog')).not.toContain('EBADENGINE')
  })

  // and none on the other Nodes it declares: every installed package's engines cover its range
  it('declares Node 20, 22 and 24, and every installed package supports all it declares', async () => {
    const declared = (
      JSON.parse(await readFile(join(ws, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node
    for (const v of ['20.19.0', '22.13.0', '24.0.0'])
      expect(enginesOf(declared).test(v), `${v} in ${declared}`).toBe(true)
    const dirs = await installedPackageDirs(join(ws, 'node_modules'))
    expect(dirs.length).toBeGreaterThan(100)
    const gaps = await rangeGaps(dirs, declared)
    expect(gaps, gaps.map((g) => `${g.dir}: ${g.range}`).join('\n')).toEqual([])
  })
})

describe('a generated service, started from its bundle', () => {
  let proc: ResultPromise | undefined
  let base = ''
  let logs = ''
  // order has the events capability: it is ready only with its broker (issue 4)
  let nats: NatsServer | undefined

  beforeAll(async () => {
    nats = await NatsServer.start()
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    proc = execa('node', ['dist/main.js'], {
      cwd: join(ws, 'services/order'),
      env: { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', NATS_URL: nats.url },
      extendEnv: true,
      reject: false,
      all: true,
    })
    proc.all?.on('data', (d: Buffer) => (logs += d.toString()))
    await waitForHttp(`${base}/health/ready`)
  })
  afterAll(async () => {
    proc?.kill('SIGKILL')
    await nats?.stop()
  })

  const json = (path: string, init: RequestInit = {}) =>
    fetch(base + path, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })

  it('serves its REST resource', async () => {
    const created = await json('/orders', {
      method: 'POST',
      body: JSON.stringify({ name: 'first' }),
      headers: { 'x-request-id': 'e2e-1' },
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('x-request-id')).toBe('e2e-1')
    const body = (await created.json()) as { id: string; name: string }
    expect(body.name).toBe('first')
    const got = await fetch(`${base}/orders/${body.id}`)
    expect(got.status).toBe(200)
    expect(((await got.json()) as { id: string }).id).toBe(body.id)
    expect((await json('/orders', { method: 'POST', body: JSON.stringify({ name: 'first' }) })).status).toBe(
      409,
    )
    expect((await fetch(`${base}/orders/00000000-0000-4000-8000-000000000000`)).status).toBe(404)
    const list = await fetch(`${base}/orders?limit=1`)
    expect(list.status).toBe(200)
  })

  it.each([
    ['invalid JSON', '{"name":', /json/i],
    ['wrong type', '{"name": 42}', /name/],
    ['missing field', '{}', /name/],
    ['unknown field', '{"name":"x","colour":"red"}', /colour/],
  ])('answers %s with a 400 naming the problem', async (_label, body, mention) => {
    const r = await json('/orders', { method: 'POST', body })
    expect(r.status).toBe(400)
    expect(r.headers.get('content-type')).toMatch(/application\/json/)
    expect(JSON.stringify(await r.json())).toMatch(mention)
  })

  it('exposes health and Prometheus metrics per route template', async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200)
    expect((await fetch(`${base}/health/ready`)).status).toBe(200)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/http_requests_total\{[^}]*route="\/orders\/:id"/)
    expect(metrics).not.toMatch(/route="\/orders\/[0-9a-f-]{36}"/)
    expect(metrics).toMatch(/process_cpu_seconds_total/)
  })

  it('logs JSON lines carrying the request id', () => {
    const line = logs.split('\n').find((l) => l.includes('e2e-1'))
    expect(line).toBeDefined()
    expect(() => JSON.parse(line!)).not.toThrow()
  })

  it('drains and exits 0 on SIGTERM', async () => {
    proc!.kill('SIGTERM')
    const r = await proc!
    expect(r.exitCode).toBe(0)
  })
})
