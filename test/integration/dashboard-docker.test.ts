import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HealthSnapshot } from '../../src/core/dashboard/status.js'
import type { DashboardRecord } from '../../src/io/dashboard/process.js'
import { startChaosStack, type ChaosStack } from '../helpers/chaos-stack.js'
import { docker, dockerAvailable } from '../helpers/docker.js'
import { freePort } from '../helpers/net.js'

// Issue #18 against a real engine, without a generated workspace: two labelled containers on a
// network of their own (test/helpers/chaos-stack.ts) and `msvc dashboard` started by the built
// bin. A killed container shows red within 2 s and green again once started; a container on the
// stack's network can export OTLP to the host's address on that network, and nothing else can
// reach the receiver there. The generated stack with traces across services is test/e2e's.

const hasDocker = await dockerAvailable()

describe.skipIf(!hasDocker)('msvc dashboard watching a real stack', () => {
  let stack: ChaosStack
  let record: DashboardRecord

  beforeAll(async () => {
    stack = await startChaosStack(['alpha', 'beta'])
    const otlpPort = await freePort()
    const r = await stack.msvc(['dashboard', '--port', '0', '--otlp-port', String(otlpPort), '--json'])
    expect(r.exitCode, r.stderr).toBe(0)
    record = JSON.parse(r.stdout) as DashboardRecord
  }, 120_000)

  afterAll(async () => {
    await stack?.msvc(['dashboard', '--stop'])
    await stack?.teardown()
  })

  const health = async () => (await (await fetch(`${record.url}/api/health`)).json()) as HealthSnapshot
  const waitFor = async (pred: (s: HealthSnapshot) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const s = await health()
      if (pred(s)) return s
      if (Date.now() > deadline) return undefined
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  it('shows a killed service red within 2 s, and green again once it runs', async () => {
    const up = await waitFor(
      (s) => s.services.alpha?.status === 'up' && s.services.beta?.status === 'up',
      10_000,
    )
    expect(up, JSON.stringify(await health())).toBeDefined()
    expect(up!.engine).toBe(true)
    const t0 = Date.now()
    await docker(['kill', stack.services.alpha!.container])
    const down = await waitFor((s) => s.services.alpha?.status === 'down', 5000)
    const ms = Date.now() - t0
    expect(down, JSON.stringify(await health())).toBeDefined()
    expect(ms).toBeLessThan(2000)
    expect(down!.services.beta!.status).toBe('up')
    await docker(['start', stack.services.alpha!.container])
    expect(await waitFor((s) => s.services.alpha?.status === 'up', 20_000)).toBeDefined()
  })

  it('takes OTLP from a container on the stack network, on the host’s address there', async () => {
    const gateway = (
      await docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', stack.network])
    ).trim()
    // the dashboard listens there once its monitor has seen the network
    const deadline = Date.now() + 5000
    while (Date.now() < deadline) {
      const r = (await (await fetch(`${record.url}/api/ping`)).json()) as { root: string }
      expect(r.root).toBe(stack.root)
      const out = await docker([
        'exec',
        stack.services.beta!.container,
        'node',
        '-e',
        `fetch('http://${gateway}:${record.otlpPort}/v1/traces',{method:'POST',headers:{'content-type':'application/json'},body:'{}'}).then(r=>console.log(r.status),e=>console.log('failed',e.cause?.code))`,
      ])
      if (out.trim() === '200') return
      await new Promise((r) => setTimeout(r, 250))
    }
    throw new Error(`no 200 from http://${gateway}:${record.otlpPort}/v1/traces inside the stack`)
  })

  it('takes OTLP on the default bridge’s gateway too: what host.docker.internal (host-gateway) resolves to', async () => {
    // asked of the engine as compose's `extra_hosts` entry asks it: a container of the stack's image
    // given host-gateway (the bridge network's listing may lack its gateway: an engine whose
    // docker0 existed before it started lists only the subnet)
    const image = (
      await docker(['inspect', '-f', '{{.Config.Image}}', stack.services.beta!.container])
    ).trim()
    const hostGateway = (
      await docker([
        'run',
        '--rm',
        '--label',
        'msvc.test=dashboard-docker',
        '--add-host',
        'host.docker.internal:host-gateway',
        '--entrypoint',
        'node',
        image,
        '-e',
        "require('dns').lookup('host.docker.internal', 4, (e, a) => console.log(e ? 'failed ' + e.code : a))",
      ])
    ).trim()
    expect(hostGateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    expect(record.otlpAddresses).toContain(`${hostGateway}:${record.otlpPort}`)
    const out = await docker([
      'exec',
      stack.services.beta!.container,
      'node',
      '-e',
      `fetch('http://${hostGateway}:${record.otlpPort}/v1/traces',{method:'POST',headers:{'content-type':'application/json'},body:'{}'}).then(r=>console.log(r.status),e=>console.log('failed',e.cause?.code))`,
    ])
    expect(out.trim()).toBe('200')
  })
})
