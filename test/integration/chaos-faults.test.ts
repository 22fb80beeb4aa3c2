import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { readFile } from 'node:fs/promises'
import { docker, dockerAvailable } from '../helpers/docker.js'
import {
  getFrom,
  proxiesOf,
  iptablesSave,
  startChaosStack,
  timedGet,
  waitHealthy,
  type ChaosStack,
} from '../helpers/chaos-stack.js'

const hasDocker = await dockerAvailable()

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 50))
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function medianLatency(url: string, n = 5): Promise<number> {
  const ms: number[] = []
  for (let i = 0; i < n; i++) {
    const r = await timedGet(url)
    expect(r.ok, r.error).toBe(true)
    ms.push(r.ms)
  }
  return median(ms)
}

async function ledgerFaults(root: string): Promise<unknown[]> {
  try {
    return (JSON.parse(await readFile(`${root}/.msvc/chaos-ledger.json`, 'utf8')) as { faults: unknown[] })
      .faults
  } catch {
    return []
  }
}

describe.skipIf(!hasDocker)('chaos faults against real containers', () => {
  let s: ChaosStack
  let web: string
  beforeAll(async () => {
    s = await startChaosStack(['web', 'peer'])
    web = `http://127.0.0.1:${s.services.web!.port}`
  }, 60_000)
  // a test that fails halfway leaves its fault for `restore`, not for the next test
  afterEach(async () => {
    const st = await s?.msvc(['chaos', 'status', '--json'])
    if (st && JSON.parse(st.stdout || '{"faults":[]}').faults.length > 0) await s.msvc(['chaos', 'restore'])
  })
  afterAll(async () => {
    await s?.msvc(['chaos', 'restore'])
    await s?.teardown()
  }, 60_000)

  it('kill: the container dies, its restart policy brings it back, and the recovery time matches', async () => {
    const before = await docker(['inspect', '-f', '{{.State.StartedAt}}', s.services.web!.container])
    // the test's own observer: a GET of /health/ready started every 20 ms without waiting for the
    // previous one (a probe that hangs while the container restarts must not blind it); ready is the
    // first success answered after the last failure that was sent
    const answers: { sentAt: number; at: number; ok: boolean }[] = []
    const pending: Promise<void>[] = []
    let stop = false
    const observer = (async () => {
      while (!stop) {
        const sentAt = Date.now()
        pending.push(
          timedGet(`${web}/health/ready`, 1000).then((r) => {
            answers.push({ sentAt, at: Date.now(), ok: r.ok })
          }),
        )
        await new Promise((res) => setTimeout(res, 20))
      }
      await Promise.all(pending)
    })()
    const r = await s.msvc(['chaos', 'kill', 'web', '--json'])
    stop = true
    await observer
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as {
      appliedAt: string
      recovery: { recovered: boolean; from: number; readyMs: number; healthyMs: number; recoveredMs: number }
      targets: { name: string }[]
    }
    expect(out.targets.map((t) => t.name)).toEqual([`${s.ws}_web_1`])
    const after = await docker([
      'inspect',
      '-f',
      '{{.State.StartedAt}} {{.RestartCount}}',
      s.services.web!.container,
    ])
    expect(after.split(' ')[0]).not.toBe(before)
    expect(Number(after.split(' ')[1])).toBeGreaterThanOrEqual(1)
    expect(out.recovery.recovered).toBe(true)
    const lastFail = Math.max(...answers.filter((a) => !a.ok).map((a) => a.sentAt))
    expect(lastFail).toBeGreaterThan(0)
    const readyAt = Math.min(...answers.filter((a) => a.ok && a.sentAt > lastFail).map((a) => a.at))
    const observedReadyMs = readyAt - out.recovery.from
    expect(Math.abs(out.recovery.readyMs - observedReadyMs)).toBeLessThanOrEqual(200)
    // Docker's own health, observed independently: healthy again after the reported time, not long after
    await waitHealthy(s.services.web!.container)
    expect(out.recovery.healthyMs).toBeGreaterThanOrEqual(out.recovery.readyMs - 200)
    expect(r.stderr).toMatch(/web recovered in \d+\.\d\d s/)
  })

  it('latency 200ms: from another container and through the published port, gone after restore', async () => {
    const peer = s.services.peer!.container
    const inside = `http://web:${s.services.web!.port}/x`
    // warm up: a keep-alive connection through the published port that must see the fault too
    const base = await medianLatency(`${web}/x`)
    const baseInside = (await getFrom(peer, inside, 3)).ms
    const r = await s.msvc(['chaos', 'latency', 'web', '200ms', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/latency \+200ms on web .*stays until msvc chaos restore/)
    const slow = await medianLatency(`${web}/x`)
    const slowInside = (await getFrom(peer, inside, 3)).ms
    expect(slow - base).toBeGreaterThan(170)
    expect(slow - base).toBeLessThan(400)
    // one process in the peer, median of three: its own timing is noisier than the host's
    expect(slowInside - baseInside).toBeGreaterThan(150)
    expect(await proxiesOf(s.ws)).toHaveLength(1)
    const status = await s.msvc(['chaos', 'status', '--json'])
    expect(JSON.parse(status.stdout).faults).toMatchObject([{ service: 'web', kind: 'latency' }])

    const restore = await s.msvc(['chaos', 'restore'])
    expect(restore.exitCode, restore.stderr).toBe(0)
    const fast = await medianLatency(`${web}/x`)
    expect(fast).toBeLessThan(base + 50)
    expect((await getFrom(peer, inside, 3)).ms).toBeLessThan(baseInside + 100)
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
    expect(await proxiesOf(s.ws)).toEqual([])
    expect(await ledgerFaults(s.root)).toEqual([])
  })

  it('loss 100%: requests time out; restored after --for', async () => {
    const r = s.msvc(['chaos', 'loss', 'web', '100%', '--for', '3s'])
    await new Promise((res) => setTimeout(res, 1200))
    const during = await timedGet(`${web}/x`, 800)
    expect(during.ok).toBe(false)
    const done = await r
    expect(done.exitCode, done.stderr).toBe(0)
    expect(done.stderr).toMatch(/restored packet loss 100% on web/)
    expect((await timedGet(`${web}/x`)).ok).toBe(true)
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
  })

  it('loss 50% drops a share of packets (the rule carries the probability)', async () => {
    const r = await s.msvc(['chaos', 'loss', 'web', '50%'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await iptablesSave(await s.pid('web'))).toMatch(/--probability 0\.5.* -j DROP/)
    await s.msvc(['chaos', 'restore'])
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
  })

  it('reset: connections are refused with RST, then accepted again', async () => {
    const r = await s.msvc(['chaos', 'reset', 'web'])
    expect(r.exitCode, r.stderr).toBe(0)
    const peer = s.services.peer!.container
    const during = await getFrom(peer, `http://web:${s.services.web!.port}/x`)
    expect(during.ok).toBe(false)
    expect(during.error).toBe('ECONNREFUSED')
    expect(during.ms).toBeLessThan(500) // a reset, not a timeout
    await s.msvc(['chaos', 'restore'])
    expect((await getFrom(peer, `http://web:${s.services.web!.port}/x`)).ok).toBe(true)
  })

  it('partition --from peer: peer cannot reach web, the host still can; restored', async () => {
    const r = await s.msvc(['chaos', 'partition', 'web', '--from', 'peer', '--no-watch'])
    expect(r.exitCode, r.stderr).toBe(0)
    const peer = s.services.peer!.container
    const during = await getFrom(peer, `http://web:${s.services.web!.port}/x`)
    expect(during.ok).toBe(false)
    expect((await timedGet(`${web}/x`)).ok).toBe(true)
    await s.msvc(['chaos', 'restore'])
    expect((await getFrom(peer, `http://web:${s.services.web!.port}/x`)).ok).toBe(true)
  })

  it('partition --for: everything is cut, then the recovery is timed from its end', async () => {
    const p = s.msvc(['chaos', 'partition', 'web', '--for', '2s', '--json'])
    // cut within the 2 s it lasts (msvc's own start may take most of a second on a busy machine)
    await until(async () => !(await timedGet(`${web}/x`, 300)).ok, 1800)
    const r = await p
    expect(r.exitCode, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout) as { recovery: { recovered: boolean; readyMs: number } }
    expect(out.recovery.recovered).toBe(true)
    expect(out.recovery.readyMs).toBeLessThan(1000)
  })

  it('pause --for: callers hang, then it is unpaused and recovery is reported', async () => {
    const p = s.msvc(['chaos', 'pause', 'web', '--for', '2s', '--json'])
    await until(
      async () =>
        (await docker(['inspect', '-f', '{{.State.Paused}}', s.services.web!.container])) === 'true',
      1800,
    )
    const r = await p
    expect(r.exitCode, r.stderr).toBe(0)
    expect(await docker(['inspect', '-f', '{{.State.Paused}}', s.services.web!.container])).toBe('false')
    expect(JSON.parse(r.stdout).recovery.recovered).toBe(true)
  })

  it('bandwidth 800kbit: a 200 kB body takes ~2 s instead of milliseconds, fast again after restore', async () => {
    const fast = await timedGet(`${web}/big`)
    expect(fast.ms).toBeLessThan(500)
    const r = await s.msvc(['chaos', 'bandwidth', 'web', '800kbit'])
    expect(r.exitCode, r.stderr).toBe(0)
    // 200 kB at 800 kbit/s (100 kB/s): ~2 s
    const slow = await timedGet(`${web}/big`, 6000)
    expect(slow.ok).toBe(true)
    expect(slow.ms).toBeGreaterThan(1500)
    expect(slow.ms).toBeLessThan(3500)
    await s.msvc(['chaos', 'restore'])
    expect((await timedGet(`${web}/big`)).ms).toBeLessThan(500)
  })

  it('Ctrl-C during --for restores at once: no rules, no proxy, empty ledger, exit 130', async () => {
    for (const [fault, value] of [
      ['latency', '300ms'],
      ['loss', '30%'],
    ] as const) {
      const child = s.msvc(['chaos', fault, 'web', value, '--for', '60s'])
      await until(async () => (await iptablesSave(await s.pid('web'))).includes('MSVC-'))
      const t0 = Date.now()
      child.child.kill('SIGINT')
      const r = await child
      expect(r.exitCode, r.stderr).toBe(130)
      expect(Date.now() - t0).toBeLessThan(3000)
      expect(r.stderr).toMatch(/cancelled \(SIGINT\); restored/)
      expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
      expect(await proxiesOf(s.ws)).toEqual([])
      expect(await ledgerFaults(s.root)).toEqual([])
    }
  })

  it('a crash (SIGKILL of msvc) during --for is restored by the next chaos status', async () => {
    const child = s.msvc(['chaos', 'latency', 'web', '300ms', '--for', '60s'])
    await until(async () => (await iptablesSave(await s.pid('web'))).includes('MSVC-'))
    child.child.kill('SIGKILL')
    await child
    expect(await ledgerFaults(s.root)).toHaveLength(1)
    expect(await proxiesOf(s.ws)).toHaveLength(1)
    const st = await s.msvc(['chaos', 'status', '--json'])
    expect(st.exitCode, st.stderr).toBe(0)
    expect(st.stderr).toMatch(/restored latency \+300ms on web, left behind by msvc \(pid \d+\)/)
    expect(JSON.parse(st.stdout).faults).toEqual([])
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
    expect(await proxiesOf(s.ws)).toEqual([])
    expect(await medianLatency(`${web}/x`, 3)).toBeLessThan(150)
  })

  it('rejects an unknown service with the valid ones, and a stopped stack with a hint', async () => {
    const r = await s.msvc(['chaos', 'kill', 'nope'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/unknown service "nope"[\s\S]*known services: peer, web/)
    const bad = await s.msvc(['chaos', 'latency', 'web', 'soon'])
    expect(bad.stderr).toMatch(/latency "soon" is not a delay/)
  })
})
