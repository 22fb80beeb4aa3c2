import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFile, writeFile } from 'node:fs/promises'
import { dockerAvailable } from '../helpers/docker.js'
import { iptablesSave, proxiesOf, startChaosStack, type ChaosStack } from '../helpers/chaos-stack.js'

const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)('msvc chaos run against real containers', () => {
  let s: ChaosStack
  beforeAll(async () => {
    s = await startChaosStack(['web', 'peer'])
  }, 60_000)
  afterAll(async () => {
    await s?.msvc(['chaos', 'restore'])
    await s?.teardown()
  }, 60_000)

  const write = async (name: string, text: string) => {
    await writeFile(`${s.root}/${name}`, text)
    return name
  }

  it('a hypothesis that holds: exit 0, a journal with every probe, fault and recovery', async () => {
    const file = await write(
      'holds.yaml',
      `title: web survives a crash
hypothesis:
  - http: { service: web, path: /health/ready, expect: 200, maxLatency: 1s }
  - metric: { service: web, series: 'demo_gauge{kind="x"}', expect: '== 0' }
  - load: { service: peer, path: /x, rate: 20, duration: 1s, thresholds: [p99<500ms, errors<5%] }
method:
  - { at: 0s, fault: kill, service: web }
  - { at: 200ms, fault: latency, service: peer, delay: 100ms, for: 1s }
  - { at: 400ms, within: 3s, probe: { http: { service: peer, path: /x, expect: 200 } } }
rollbacks:
  - { action: wait-healthy, service: web, timeout: 30s }
settings: { recoveryTimeout: 30s }
`,
    )
    const r = await s.msvc(['chaos', 'run', file, '--journal', 'out/journal.json'])
    expect(r.exitCode, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/hypothesis held: web survives a crash/)
    const j = JSON.parse(await readFile(`${s.root}/out/journal.json`, 'utf8'))
    expect(j).toMatchObject({
      verdict: 'held',
      exitCode: 0,
      steadyStateBefore: { met: true },
      steadyStateAfter: { met: true },
    })
    expect(j.steadyStateBefore.probes.map((p: { type: string }) => p.type)).toEqual([
      'http',
      'metric',
      'load',
    ])
    const kill = j.method.find((m: { type: string; spec?: { kind: string } }) => m.spec?.kind === 'kill')
    expect(kill.recovery.recovered).toBe(true)
    expect(kill.recovery.readyMs).toBeGreaterThan(0)
    const latency = j.method.find((m: { spec?: { kind: string } }) => m.spec?.kind === 'latency')
    expect(latency.endedAt).toBeDefined()
    expect(j.rollbacks).toMatchObject([{ action: 'wait-healthy', ok: true }])
    expect(await proxiesOf(s.ws)).toEqual([])
    expect(await iptablesSave(await s.pid('peer'))).not.toMatch(/MSVC-/)
  })

  it('a hypothesis broken during the fault: exit 2, with the reason', async () => {
    const file = await write(
      'breaks.yaml',
      `title: web stays fast
hypothesis:
  - http: { service: web, path: /x, maxLatency: 150ms }
method:
  - { at: 0s, fault: latency, service: web, delay: 300ms, for: 3s }
  - { at: 1500ms, probe: { http: { service: web, path: /x, maxLatency: 150ms } } }
`,
    )
    const r = await s.msvc(['chaos', 'run', file, '--json'])
    expect(r.exitCode, r.stderr).toBe(2)
    expect(r.stderr).toMatch(
      /hypothesis violated: web stays fast[\s\S]*during the method: GET web \/x: answered 200 in \d+ ms, over 150 ms/,
    )
    const j = JSON.parse(r.stdout)
    expect(j.verdict).toBe('violated')
    expect(j.steadyStateAfter.met).toBe(true)
    expect(await proxiesOf(s.ws)).toEqual([])
  })

  it("a load probe of the method judged by phase: the pause breaks the fault phase's p99 and not the baseline's", async () => {
    const file = await write(
      'phases.yaml',
      `title: web answers within 500 ms outside a pause
hypothesis:
  - http: { service: web, path: /health/ready, expect: 200 }
method:
  - { at: 0s, probe: { load: { service: web, path: /x, rate: 40, duration: 6s, thresholds: ['baseline:p99<500ms', 'fault:p99<500ms'] } } }
  - { at: 2s, fault: pause, service: web, for: 1500ms }
settings: { recoveryTimeout: 30s }
`,
    )
    const r = await s.msvc(['chaos', 'run', file, '--json'])
    expect(r.exitCode, r.stderr).toBe(2)
    const j = JSON.parse(r.stdout)
    const probe = j.method.find((m: { type: string }) => m.type === 'probe').result
    expect(probe.ok).toBe(false)
    // only the fault phase's threshold is broken, and the detail gives that phase's figures
    expect(probe.detail).toMatch(
      /broke fault:p99<500ms \(fault phase: \d+ requests, p99 \d+ ms, errors 0\.0%\)$/,
    )
    expect(probe.detail).not.toContain('baseline:p99<500ms')
    expect(j.steadyStateAfter.met).toBe(true)
  }, 60_000)

  it('not steady before: exit 1, nothing injected, nothing rolled back', async () => {
    const file = await write(
      'unsteady.yaml',
      `hypothesis:
  - metric: { service: web, series: demo_gauge, expect: '>= 5' }
method:
  - { at: 0s, fault: kill, service: web }
rollbacks:
  - { action: wait-healthy, service: web, timeout: 5s }
`,
    )
    const r = await s.msvc(['chaos', 'run', file, '--json'])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(
      /not in its steady state before the experiment[\s\S]*demo_gauge >= 5: 0, expected >= 5/,
    )
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'aborted', method: [], rollbacks: [] })
  })

  it('an invalid file is reported with line and column, before anything runs', async () => {
    const file = await write(
      'bad.yaml',
      `hypothesis:
  - http: { service: web }
method:
  - { at: 0s, fault: latency, service: wbe, delay: 200ms }
`,
    )
    const r = await s.msvc(['chaos', 'run', file])
    expect(r.exitCode).toBe(1)
    expect(r.stderr).toMatch(/bad\.yaml:4:40 unknown service "wbe"[\s\S]*known services: peer, web/)
  })

  it('chaos init writes an example that runs as written validation-wise', async () => {
    const r = await s.msvc(['chaos', 'init'])
    expect(r.exitCode, r.stderr).toBe(0)
    const dry = await s.msvc(['chaos', 'run', 'chaos/experiment.yaml', '--dry-run'])
    expect(dry.exitCode, dry.stderr).toBe(0)
    expect(dry.stdout).toMatch(/\+0ms {2}kill \(SIGKILL\) on (peer|web)/)
  })
})
