import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { msvc } from '../helpers/cli.js'
import { timedGet } from '../helpers/chaos-stack.js'
import { dockerAvailable } from '../helpers/docker.js'

const ws = inject('workspaceDir')
const hasDocker = await dockerAvailable()

interface FaultJson {
  appliedAt: string
  recovery: { recovered: boolean; from: number; readyMs: number; healthyMs: number; recoveredMs: number }
}

/** checkout's gauge circuit_breaker_state{target="payment"}: 0 closed, 1 open, 2 half-open. */
async function breakerState(checkout: string): Promise<number | undefined> {
  const text = await (await fetch(`${checkout}/metrics`)).text()
  const m = /^circuit_breaker_state\{[^}]*target="payment"[^}]*\} (\d)/m.exec(text)
  return m ? Number(m[1]) : undefined
}

/** checkout -> payment through checkout's generated client: the latency it reports, or the failure. */
async function callPayment(checkout: string): Promise<{ ok: boolean; latencyMs?: number; breaker?: string }> {
  const r = await fetch(`${checkout}/dependencies/payment`, { signal: AbortSignal.timeout(5000) })
  const body = (await r.json()) as { latencyMs?: number; breaker?: string }
  return { ok: r.ok, ...body }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * Issue #6 in the generated workspace, where checkout calls order and payment through the kit's
 * client (deadline, retries, one breaker per target): faults on payment as checkout sees them.
 */
describe.skipIf(!hasDocker)('msvc chaos against the generated stack (checkout calls payment)', () => {
  let checkout = ''
  let payment = ''

  beforeAll(async () => {
    const yaml = parse(await readFile(join(ws, 'msvc.yaml'), 'utf8')) as {
      services: Record<string, { ports: { http: number } }>
    }
    checkout = `http://127.0.0.1:${yaml.services.checkout!.ports.http}`
    payment = `http://127.0.0.1:${yaml.services.payment!.ports.http}`
    const up = await msvc(['up', 'checkout'], { cwd: ws })
    expect(up.exitCode, up.stderr).toBe(0)
  })

  afterAll(async () => {
    await msvc(['chaos', 'restore'], { cwd: ws })
    await msvc(['down', '--volumes'], { cwd: ws })
  })

  it('kill payment while checkout calls it: the breaker opens, payment comes back, recovery is timed right', async () => {
    expect((await callPayment(checkout)).ok).toBe(true)
    expect(await breakerState(checkout)).toBe(0)
    // checkout keeps calling payment; the test watches payment's readiness on its own, firing a
    // probe every 20 ms without waiting for the previous one
    const answers: { sentAt: number; at: number; ok: boolean }[] = []
    const breakerSeen = new Set<number>()
    const pending: Promise<unknown>[] = []
    let stop = false
    const load = (async () => {
      while (!stop) {
        const sentAt = Date.now()
        pending.push(
          timedGet(`${payment}/health/ready`, 1000).then((r) =>
            answers.push({ sentAt, at: Date.now(), ok: r.ok }),
          ),
          callPayment(checkout).catch(() => undefined),
          breakerState(checkout).then((s) => s !== undefined && breakerSeen.add(s)),
        )
        await new Promise((res) => setTimeout(res, 20))
      }
      await Promise.all(pending)
    })()
    const r = await msvc(['chaos', 'kill', 'payment', '--json'], { cwd: ws })
    // keep calling until the breaker has had time to half-open and close again (openMs 5 s)
    const until = Date.now() + 8000
    while (Date.now() < until && (await breakerState(checkout)) !== 0)
      await new Promise((res) => setTimeout(res, 100))
    stop = true
    await load
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as FaultJson
    expect(out.recovery.recovered).toBe(true)
    expect(breakerSeen.has(1), `breaker states seen: ${[...breakerSeen].join(',')}`).toBe(true)
    expect(await breakerState(checkout)).toBe(0)
    expect((await callPayment(checkout)).ok).toBe(true)
    const lastFail = Math.max(...answers.filter((a) => !a.ok).map((a) => a.sentAt))
    const readyAt = Math.min(...answers.filter((a) => a.ok && a.sentAt > lastFail).map((a) => a.at))
    expect(Math.abs(out.recovery.readyMs - (readyAt - out.recovery.from))).toBeLessThanOrEqual(200)
  })

  it('latency 200ms on payment adds ~200 ms to checkout -> payment, and is gone after restore', async () => {
    const sample = async () => {
      const xs: number[] = []
      for (let i = 0; i < 15; i++) {
        const c = await callPayment(checkout)
        expect(c.ok).toBe(true)
        xs.push(c.latencyMs!)
      }
      return median(xs)
    }
    const before = await sample()
    const f = await msvc(['chaos', 'latency', 'payment', '200ms'], { cwd: ws })
    expect(f.exitCode, f.stderr).toBe(0)
    const status = await msvc(['chaos', 'status', '--json'], { cwd: ws })
    expect(status.stdout).toMatch(/latency/)
    const during = await sample()
    expect(during - before).toBeGreaterThanOrEqual(180)
    expect(during - before).toBeLessThanOrEqual(300)
    const restored = await msvc(['chaos', 'restore'], { cwd: ws })
    expect(restored.exitCode, restored.stderr).toBe(0)
    const after = await sample()
    expect(after).toBeLessThan(before + 50)
  })

  it('msvc down with a fault held removes the fault with the stack: the ledger is empty after', async () => {
    const f = await msvc(['chaos', 'latency', 'payment', '100ms'], { cwd: ws })
    expect(f.exitCode, f.stderr).toBe(0)
    const down = await msvc(['down'], { cwd: ws })
    expect(down.exitCode, down.stderr).toBe(0)
    expect(down.stderr).toMatch(/restored latency/)
    const status = await msvc(['chaos', 'status', '--json'], { cwd: ws })
    expect(JSON.parse(status.stdout)).toMatchObject({ faults: [] })
  })
})
