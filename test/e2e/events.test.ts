import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { execa } from 'execa'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { waitFor } from '../helpers/events-harness.js'
import { hasNatsServer, NatsServer } from '../helpers/nats.js'
import { freePort, waitForHttp } from '../helpers/net.js'

// Issue 4: two generated services (order publishes order.created from its REST create route,
// payment handles it) as built bundles in separate processes, through a real nats-server.
const ws = inject('workspaceDir')
const run = hasNatsServer() || process.env.MSVC_E2E_REQUIRE_DOCKER === '1'

describe.skipIf(!run)('generated services over NATS JetStream', () => {
  let nats: NatsServer
  const procs: { name: string; proc: ChildProcess; out: () => string; exited: Promise<number | null> }[] = []
  const ports: Record<string, number> = {}

  const start = (name: string, env: Record<string, string>) => {
    const proc = spawn(process.execPath, ['dist/main.js'], {
      cwd: join(ws, 'services', name),
      env: { ...process.env, NATS_URL: nats.url, HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    proc.stdout?.on('data', (b: Buffer) => (out += b.toString()))
    proc.stderr?.on('data', (b: Buffer) => (out += b.toString()))
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
    procs.push({ name, proc, out: () => out, exited })
    return procs.at(-1)!
  }

  beforeAll(async () => {
    for (const s of ['order', 'payment']) {
      const b = await execa('npm', ['run', 'bundle'], {
        cwd: join(ws, 'services', s),
        reject: false,
        all: true,
      })
      if (b.exitCode !== 0) throw new Error(`bundling ${s} failed: ${b.all}`)
      ports[s] = await freePort()
    }
    nats = await NatsServer.start()
    start('order', { PORT: String(ports.order), GRPC_PORT: String(await freePort()) })
    start('payment', { PORT: String(ports.payment) })
    await Promise.all(
      ['order', 'payment'].map((s) => waitForHttp(`http://127.0.0.1:${ports[s]}/health/ready`)),
    )
  })
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL')
    await nats?.stop()
  })

  const url = (s: string, path: string) => `http://127.0.0.1:${ports[s]}${path}`

  it('publishes order.created on POST /orders and payment handles it', async () => {
    const r = await fetch(url('order', '/orders'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'first' }),
    })
    expect(r.status).toBe(201)
    const { id } = (await r.json()) as { id: string }
    const payment = procs.find((p) => p.name === 'payment')!
    await waitFor(
      () => payment.out().includes(id),
      10_000,
      () => payment.out().slice(-2000),
    )
    const line = payment
      .out()
      .split('\n')
      .find((l) => l.includes(id))!
    expect(JSON.parse(line)).toMatchObject({
      msg: 'order.created handled',
      type: 'order.created',
      data: { id },
    })
    const metrics = await (await fetch(url('payment', '/metrics'))).text()
    expect(metrics).toMatch(/events_consumed_total\{type="order\.created",result="ok",service="payment"\} 1/)
    const ready = (await (await fetch(url('order', '/health/ready'))).json()) as {
      checks: { name: string }[]
    }
    expect(ready.checks.map((c) => c.name)).toContain('nats')
  })

  it('answers 503 while the broker is down and is not ready; drains and exits 0 on SIGTERM', async () => {
    await nats.kill()
    let readyStatus = 0
    for (let i = 0; i < 50 && readyStatus !== 503; i++) {
      readyStatus = (await fetch(url('order', '/health/ready'))).status
      if (readyStatus !== 503) await new Promise((r) => setTimeout(r, 100))
    }
    expect(readyStatus).toBe(503)
    const r = await fetch(url('order', '/orders'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'second' }),
    })
    expect(r.status).toBe(503)
    expect(((await r.json()) as { error: string }).error).toBe('unavailable')
    const list = (await (await fetch(url('order', '/orders'))).json()) as { items: { name: string }[] }
    expect(list.items.map((i) => i.name)).toEqual(['first'])
    const order = procs.find((p) => p.name === 'order')!
    order.proc.kill('SIGTERM')
    expect(await order.exited).toBe(0)
  })
})
