import { type Engine } from '../engine.js'
import { MECHANISM, type FaultSpec } from '../../core/chaos/faults.js'
import type { LedgerEntry } from '../../core/chaos/ledger.js'
import {
  faultChains,
  netfilterPlan,
  parseListeningPorts,
  pickProxyPorts,
  sweepCommands,
} from '../../core/chaos/netfilter.js'
import type { Workspace } from '../../core/workspace/model.js'
import { UserError } from '../../errors.js'
import type { ProxyConfig } from './fault-proxy.js'
import { killProxies, startProxyProcess } from './proxy-process.js'
import { inNetns, runAll, runUndo } from './netns.js'
import { listServiceContainers, type ChaosTarget } from './targets.js'

/**
 * Kill and restart: one-shot, nothing to undo. A kill is a signal to the container's main process
 * sent from the host, which Docker sees as a crash, so the restart policy brings it back. (The
 * engine's kill API marks the container as stopped by hand, and no restart policy applies after
 * it.) Without the right to signal it (not root), msvc falls back to the engine and starts the
 * container again itself, and says so.
 */
export async function applyOneShot(d: Engine, spec: FaultSpec, targets: ChaosTarget[]): Promise<string[]> {
  const notes: string[] = []
  await Promise.all(
    targets.map(async (t) => {
      const c = d.getContainer(t.id)
      if (spec.kind === 'restart') return void (await c.restart({ t: 10 }))
      if (spec.kind !== 'kill') return
      try {
        process.kill(t.pid, spec.signal as NodeJS.Signals)
        return
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e
      }
      await c.kill({ signal: spec.signal })
      await c.wait().catch(() => {})
      await c.start()
      notes.push(
        `${t.name}: no permission to signal its process, so msvc killed it through Docker and started it again`,
      )
    }),
  ).catch((e: unknown) => {
    throw new UserError(`${spec.kind} failed: ${(e as Error).message}`)
  })
  return notes
}

/** Proxy ports free in every target's namespace, one per service port. */
export async function chooseProxyPorts(
  targets: ChaosTarget[],
  ports: number[],
): Promise<Record<number, number>> {
  const listening = new Set<number>()
  for (const t of targets) {
    const r = await inNetns(t.pid, ['ss', '-Hltn'])
    for (const p of parseListeningPorts(r.output)) listening.add(p)
  }
  return pickProxyPorts(ports, listening)
}

/** Applies a lasting fault recorded in `entry`; on failure the caller undoes it (undo is idempotent). */
export async function applyLasting(d: Engine, ws: Workspace, entry: LedgerEntry): Promise<void> {
  const { spec } = entry
  if (spec.kind === 'pause') {
    await Promise.all(entry.targets.map((t) => d.getContainer(t.containerId).pause()))
    return
  }
  if (spec.kind === 'stop') {
    await Promise.all(entry.targets.map((t) => d.getContainer(t.containerId).stop({ t: 10 })))
    return
  }
  const plan = netfilterPlan(spec, {
    faultId: entry.id,
    ports: entry.ports,
    ...(entry.peers ? { peers: entry.peers } : {}),
    ...(entry.proxyPorts ? { proxyPorts: entry.proxyPorts } : {}),
  })
  await Promise.all(
    entry.targets.map(async (t) => {
      if (MECHANISM[spec.kind] === 'proxy') await startProxy(ws, entry, t)
      const { failed } = await runAll(t.pid, plan.apply)
      if (failed)
        throw new UserError(
          `could not apply ${spec.kind} to ${t.name}: \`${failed.argv.join(' ')}\` said: ${failed.output}`,
          /not found|No such file/i.test(failed.output)
            ? 'install iptables and iproute2 on the host (apt-get install -y iptables iproute2)'
            : 'msvc chaos restore undoes whatever part was applied',
        )
    }),
  )
}

/** The fault proxy for one target: a process in its network namespace (proxy-process.ts). */
async function startProxy(ws: Workspace, entry: LedgerEntry, t: LedgerEntry['targets'][number]) {
  const spec = entry.spec
  const cfg: ProxyConfig = {
    listen: Object.entries(entry.proxyPorts ?? {}).map(([target, port]) => ({
      port,
      target: Number(target),
    })),
    delayMs: spec.kind === 'latency' ? spec.delayMs : 0,
    jitterMs: spec.kind === 'latency' ? spec.jitterMs : 0,
    bytesPerSecond: spec.kind === 'bandwidth' ? spec.bytesPerSecond : 0,
  }
  try {
    await startProxyProcess(t.pid, cfg, { workspace: ws.name, fault: entry.id })
  } catch (e) {
    throw new UserError(`${t.name}: ${(e as Error).message}`, (e as UserError).hint)
  }
}

/**
 * Undoes a fault from its ledger entry. Idempotent, and sane about containers that changed: a
 * removed one has nothing left to undo, and one that restarted (new pid, new network namespace)
 * lost the rules with its old namespace, so only its proxies are stopped. Returns notes to print.
 */
export async function undoLasting(d: Engine, entry: LedgerEntry): Promise<string[]> {
  const notes: string[] = []
  const { spec } = entry
  const mech = MECHANISM[spec.kind]
  if (mech === 'proxy') await killProxies({ fault: entry.id })
  const plan =
    mech === 'engine'
      ? undefined
      : netfilterPlan(spec, {
          faultId: entry.id,
          ports: entry.ports,
          ...(entry.peers ? { peers: entry.peers } : {}),
          ...(entry.proxyPorts ? { proxyPorts: entry.proxyPorts } : {}),
        })
  for (const t of entry.targets) {
    const c = d.getContainer(t.containerId)
    const info = await c.inspect().catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404) return undefined
      throw e
    })
    if (!info) {
      notes.push(`${t.name} no longer exists; nothing to undo there`)
      continue
    }
    if (spec.kind === 'pause') {
      if (info.State.Paused) await c.unpause()
    } else if (spec.kind === 'stop') {
      if (!info.State.Running) await c.start()
    } else if (plan) {
      if (!info.State.Running || info.State.Pid !== t.pid) {
        notes.push(`${t.name} restarted since the fault; its rules went with its old network namespace`)
        continue
      }
      const errors = await runUndo(t.pid, plan.undo)
      const left = await inNetns(t.pid, ['iptables-save'])
      const chains = faultChains(entry.id).filter((ch) => left.output.includes(ch))
      if (chains.length > 0)
        throw new UserError(
          `could not remove ${chains.join(', ')} from ${t.name}: ${errors.join('; ') || 'unknown reason'}`,
          'run msvc chaos restore again; as root',
        )
    }
  }
  return notes
}

/**
 * What the ledger does not know about but is ours: fault proxies and `MSVC-…` chains in the
 * workspace's running containers. Removed by `msvc chaos restore`.
 */
export async function sweepStrays(d: Engine, ws: Workspace, keep: ReadonlySet<string>): Promise<string[]> {
  const notes: string[] = []
  const proxies = await killProxies({ workspace: ws.name, keep })
  if (proxies) notes.push(`stopped ${proxies} stray fault prox${proxies === 1 ? 'y' : 'ies'}`)
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return notes
  for (const info of await listServiceContainers(d, ws.name)) {
    if (info.State !== 'running') continue
    const pid = (await d.getContainer(info.Id).inspect()).State.Pid
    const dump = await inNetns(pid, ['iptables-save'])
    if (dump.exitCode !== 0) continue
    const cmds = sweepCommands(dump.output, keep)
    if (cmds.length === 0) continue
    await runUndo(pid, cmds)
    notes.push(`removed stray chaos rules from ${(info.Names[0] ?? info.Id).replace(/^\//, '')}`)
  }
  return notes
}
