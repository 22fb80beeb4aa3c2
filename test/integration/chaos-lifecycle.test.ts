// The chaos commands' other promises in docs/chaos.md, against real containers: stop and restart
// with recovery, SIGTERM like Ctrl-C, --probe and --recovery-timeout (exit 2), leftover faults
// restored by the stack commands and loadtest, and a stack that is not up.
import { readFile, writeFile } from 'node:fs/promises'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { iptablesSave, startChaosStack, type ChaosStack } from '../helpers/chaos-stack.js'
import { freePort } from '../helpers/net.js'
import { makeTempDir } from '../helpers/temp-dir.js'

const hasDocker = await dockerAvailable()

interface FaultOutput {
  recovery: { recovered: boolean; readyMs?: number; healthyMs?: number; probeMs?: number }
}

async function ledgerFaults(root: string): Promise<unknown[]> {
  const text = await readFile(`${root}/.msvc/chaos-ledger.json`, 'utf8').catch(() => '{"faults":[]}')
  return (JSON.parse(text) as { faults: unknown[] }).faults
}

describe.skipIf(!hasDocker)('chaos stop, restart, signals and recovery limits', () => {
  let s: ChaosStack
  let container = ''
  const state = () => docker(['inspect', '-f', '{{.State.Running}} {{.State.StartedAt}}', container])
  /** until web's namespace has a fault's rules (msvc applies them in about 100 ms) */
  const untilApplied = async () => {
    const deadline = Date.now() + 15_000
    while (!(await iptablesSave(await s.pid('web'))).includes('MSVC-')) {
      if (Date.now() > deadline) throw new Error('the fault was not applied in 15 s')
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  beforeAll(async () => {
    s = await startChaosStack(['web'])
    container = s.services.web!.container
  }, 60_000)
  afterEach(async () => {
    await s?.msvc(['chaos', 'restore'])
  })
  afterAll(async () => {
    await s?.teardown()
  }, 60_000)

  it('stop --for: the container is down during the fault, started after it, and recovers', async () => {
    const run = s.msvc(['chaos', 'stop', 'web', '--for', '2s', '--json'])
    let sawStopped = false
    const deadline = Date.now() + 15_000
    while (!sawStopped && Date.now() < deadline) {
      sawStopped = (await state()).startsWith('false')
      if (!sawStopped) await new Promise((r) => setTimeout(r, 100))
    }
    const r = await run
    expect(r.exitCode, r.stderr).toBe(0)
    expect(sawStopped).toBe(true)
    expect((await state()).startsWith('true')).toBe(true)
    expect((JSON.parse(r.stdout) as FaultOutput).recovery.recovered).toBe(true)
    expect(await ledgerFaults(s.root)).toEqual([])
  })

  it('restart: a new process, watched until it recovers', async () => {
    const before = (await state()).split(' ')[1]
    const r = await s.msvc(['chaos', 'restart', 'web', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect((await state()).split(' ')[1]).not.toBe(before)
    expect((JSON.parse(r.stdout) as FaultOutput).recovery.recovered).toBe(true)
  })

  it('SIGTERM during --for restores at once, like Ctrl-C: exit 130', async () => {
    const child = s.msvc(['chaos', 'loss', 'web', '30%', '--for', '60s'])
    await untilApplied()
    child.child.kill('SIGTERM')
    const r = await child
    expect(r.exitCode, r.stderr).toBe(130)
    expect(r.stderr).toMatch(/cancelled \(SIGTERM\); restored/)
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
    expect(await ledgerFaults(s.root)).toEqual([])
  })

  it('--probe is part of recovery; a probe that never answers breaks --recovery-timeout: exit 2', async () => {
    const pause = (probe: string, ...more: string[]) =>
      s.msvc(['chaos', 'pause', 'web', '--for', '1s', '--probe', probe, ...more])
    const ok = await pause(`http://127.0.0.1:${s.services.web!.port}/anything`, '--json')
    expect(ok.exitCode, ok.stderr).toBe(0)
    expect((JSON.parse(ok.stdout) as FaultOutput).recovery.probeMs).toBeGreaterThanOrEqual(0)

    const nobody = await freePort()
    const t0 = Date.now()
    const r = await pause(`http://127.0.0.1:${nobody}/`, '--recovery-timeout', '2s')
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/web not recovered within 2\.00 s \(.*\)/)
    // the fault's 1 s, then the 2 s limit (and msvc's start): not the default 60 s
    expect(Date.now() - t0).toBeLessThan(15_000)
  })

  it('a target restarted under a fault: warned during --for; status marks it lapsed; restore skips its namespace', async () => {
    const held = s.msvc(['chaos', 'loss', 'web', '10%', '--for', '6s'])
    await untilApplied()
    await docker(['restart', '-t', '1', container])
    const r = await held
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toContain(`restarted: its new network namespace does not have the fault`)

    const lasting = await s.msvc(['chaos', 'loss', 'web', '10%'])
    expect(lasting.exitCode, lasting.stderr).toBe(0)
    await docker(['restart', '-t', '1', container])
    const st = await s.msvc(['chaos', 'status', '--json'])
    expect(JSON.parse(st.stdout)).toMatchObject({
      faults: [{ lapsed: [expect.stringMatching(/ restarted$/)] }],
    })
    const restore = await s.msvc(['chaos', 'restore'])
    expect(restore.exitCode, restore.stderr).toBe(0)
    expect(restore.stderr).toContain('restarted since the fault')
    expect(await ledgerFaults(s.root)).toEqual([])
  })

  it('--dry-run shows the plan of a latency fault (a proxy process, its iptables rules) and applies nothing', async () => {
    const r = await s.msvc(['chaos', 'latency', 'web', '100ms', '--dry-run'])
    expect(r.exitCode, r.stderr).toBe(0)
    const out = r.stdout + r.stderr
    expect(out).toContain("start a fault proxy: msvc's own node as nobody, in the target's network namespace")
    expect(out).not.toMatch(/proxy container/)
    expect(r.stdout).toMatch(/^nsenter -t <pid> -n iptables /m)
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
    expect(await ledgerFaults(s.root)).toEqual([])
  })

  it('a fault left by an msvc that died is restored by the next loadtest of a service', async () => {
    const child = s.msvc(['chaos', 'loss', 'web', '10%', '--for', '60s'])
    await untilApplied()
    child.child.kill('SIGKILL')
    await child
    expect(await ledgerFaults(s.root)).toHaveLength(1)
    const r = await s.msvc(['loadtest', 'web', '-r', '10', '-d', '1s', '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/restored packet loss 10% on web, left behind by msvc \(pid \d+\)/)
    expect(await ledgerFaults(s.root)).toEqual([])
    expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
  })

  it.each([['ps'], ['logs', 'web', '--tail', '1'], ['restart', 'web']])(
    'a fault left by an msvc that died is restored by the next `msvc %s`',
    async (...args: string[]) => {
      const child = s.msvc(['chaos', 'loss', 'web', '10%', '--for', '60s'])
      await untilApplied()
      child.child.kill('SIGKILL')
      await child
      expect(await ledgerFaults(s.root)).toHaveLength(1)
      const r = await s.msvc(args)
      expect(r.exitCode, r.stderr).toBe(0)
      expect(r.stderr).toMatch(/restored packet loss 10% on web, left behind by msvc \(pid \d+\)/)
      expect(await ledgerFaults(s.root)).toEqual([])
      expect(await iptablesSave(await s.pid('web'))).not.toMatch(/MSVC-/)
    },
  )

  it('a workspace whose stack is not up says so, with msvc up as the hint', async () => {
    const other = await makeTempDir('msvc-chaos-down-')
    const yaml = (await readFile(`${s.root}/msvc.yaml`, 'utf8')).replace(
      `name: ${s.ws}`,
      `name: ${s.ws}-down`,
    )
    await writeFile(`${other}/msvc.yaml`, yaml)
    const r = await s.msvc(['chaos', 'kill', 'web'], { cwd: other })
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`the stack of ${s.ws}-down is not up[\\s\\S]*msvc up`))
  })
})
