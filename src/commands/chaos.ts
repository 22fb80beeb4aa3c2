import type { Engine } from '../io/engine.js'
import {
  MECHANISM,
  describeFault,
  faultInput,
  isLastingFault,
  toFaultSpec,
  type FaultKind,
  type FaultSpec,
} from '../core/chaos/faults.js'
import { netfilterPlan } from '../core/chaos/netfilter.js'
import { describeRecovery } from '../core/chaos/recovery.js'
import { formatDuration } from '../core/chaos/units.js'
import { durationFlag } from './flags.js'
import type { Workspace } from '../core/workspace/model.js'
import { listStackNames, stackMember } from '../core/compose/build-stack.js'
import { hintKnown } from '../core/workspace/parse.js'
import type { Ctx } from '../context.js'
import { EXIT, ExitError, UserError } from '../errors.js'
import { sweepStrays } from '../io/chaos/apply.js'
import { isProcessAlive, ledgerPath, readLedger } from '../io/chaos/ledger-store.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { engineEdges, runFaultLifecycle } from '../io/chaos/lifecycle.js'
import { resolveTargets } from '../io/chaos/targets.js'
import { loadWorkspace } from '../io/workspace.js'
import type { Ui } from '../ui/ui.js'

export interface FaultCliOptions {
  for?: string
  signal?: string
  replica?: string
  all?: boolean
  jitter?: string
  from?: string
  probe?: string
  recoveryTimeout?: string
  /** commander's --no-watch */
  watch?: boolean
  json?: boolean
  dryRun?: boolean
}

/** Flags -> what to do, checked before anything touches Docker. */
export function toFaultOptions(
  kind: FaultKind,
  value: string | undefined,
  opts: FaultCliOptions,
  ws: Workspace,
  service: string,
) {
  if (!stackMember(ws, service))
    throw new UserError(`unknown service "${service}"`, hintKnown(listStackNames(ws)))
  const spec = toFaultSpec(
    faultInput(kind, { value, jitter: opts.jitter, signal: opts.signal, from: opts.from }),
  )
  if (spec.kind === 'partition' && spec.from && !ws.services[spec.from])
    throw new UserError(`--from names unknown service "${spec.from}"`, hintKnown(Object.keys(ws.services)))
  let durationMs: number | undefined
  if (opts.for !== undefined) {
    if (!isLastingFault(kind))
      throw new UserError(
        `${kind} happens once; --for does not apply`,
        'use stop --for or pause --for to hold a service down',
      )
    durationMs = durationFlag(opts.for, '--for', '10s')
  }
  let replica: number | undefined
  if (opts.replica !== undefined) {
    replica = Number(opts.replica)
    if (opts.all) throw new UserError('--replica and --all cannot be used together')
  }
  const recoveryTimeoutMs = durationFlag(opts.recoveryTimeout ?? '60s', '--recovery-timeout', '60s')
  if (opts.probe !== undefined && !/^https?:\/\//.test(opts.probe))
    throw new UserError(
      `--probe "${opts.probe}" is not an http(s) URL`,
      'for example --probe http://127.0.0.1:3004/orders',
    )
  return {
    spec,
    durationMs,
    selection: { ...(replica !== undefined ? { replica } : {}), ...(opts.all ? { all: true } : {}) },
    recoveryTimeoutMs,
  }
}

const clock = (ms: number) => new Date(ms).toLocaleTimeString('en-GB', { hour12: false })

/** `msvc chaos <fault> <service> [value]`: inject, hold for --for, undo, watch recovery. */
export async function runFault(
  kind: FaultKind,
  service: string,
  value: string | undefined,
  opts: FaultCliOptions,
  ctx: Ctx,
): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const o = toFaultOptions(kind, value, opts, workspace, service)
  const ui = ctx.ui
  const c = ui.color
  const d = await ctx.engine()
  await restoreLeftoverFaults(root, workspace, ui, ctx.engine)
  if (opts.dryRun) return printDryRun(d, workspace, service, o.spec, o.selection, o.durationMs, ui, opts.json)

  const what = describeFault(o.spec)
  const report: Record<string, unknown> = {}
  const line = ui.statusLine()
  const trap = ctx.trapSignals()
  try {
    const outcome = await runFaultLifecycle(
      engineEdges(d, root, workspace),
      {
        service,
        spec: o.spec,
        selection: o.selection,
        ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
        hold: o.durationMs ?? 'leave',
        ...(opts.watch !== false
          ? {
              recovery: {
                timeoutMs: o.recoveryTimeoutMs,
                ...httpPortOf(workspace, service),
                ...(opts.probe ? { probe: opts.probe } : {}),
              },
            }
          : {}),
      },
      trap.signal,
      {
        applied: (injected) => {
          Object.assign(report, {
            id: injected.id,
            kind,
            service,
            fault: what,
            spec: o.spec,
            mechanism: MECHANISM[kind],
            targets: injected.targets.map((t) => ({
              id: t.id.slice(0, 12),
              name: t.name,
              replica: t.replica,
            })),
            appliedAt: new Date(injected.appliedAt).toISOString(),
            applyMs: injected.appliedAt - injected.startedAt,
          })
          const where = injected.targets.map((t) => t.name).join(', ')
          const undo = !isLastingFault(kind)
            ? ''
            : o.durationMs !== undefined
              ? `; undone in ${formatDuration(o.durationMs)} (at ${clock(injected.appliedAt + o.durationMs)})`
              : '; stays until msvc chaos restore'
          ui.success(`${what} on ${service} (${where})${undo} ${c.dim(`[${report.applyMs as number} ms]`)}`)
          for (const n of injected.notes ?? []) ui.info(`  ${n}`)
        },
        tick: (left) =>
          line.set(
            `${c.cyan('⏳')} ${what} on ${service}: ${Math.ceil(left / 1000)} s left ${c.dim('(Ctrl-C restores now)')}`,
          ),
        restarted: (t) =>
          ui.warn(
            `${t.name} restarted: its new network namespace does not have the fault (it ends for that replica)`,
          ),
        lifted: ({ endedAt, notes }) => {
          line.clear()
          report.endedAt = new Date(endedAt).toISOString()
          for (const n of notes) ui.info(`  ${n}`)
        },
        watching: () => line.set(`${c.cyan('…')} watching ${service} recover`),
      },
    )
    line.clear()
    const { injected, endedAt } = outcome
    if (endedAt !== undefined && o.durationMs !== undefined)
      report.restoreMs = endedAt - (outcome.cancelled ? endedAt : injected.appliedAt + o.durationMs)
    if (outcome.recovery) report.recovery = outcome.recovery
    if (outcome.cancelled) {
      ui.warn(
        outcome.recovery
          ? `cancelled (${trap.received()}) while watching ${service} recover`
          : `cancelled (${trap.received()}); restored ${what} on ${service}`,
      )
      if (opts.json) ui.json({ ...report, cancelled: true })
      throw new ExitError(EXIT.cancelled)
    }
    if (endedAt !== undefined)
      ui.success(`restored ${what} on ${service} after ${formatDuration(endedAt - injected.appliedAt)}`)
    const recovery = outcome.recovery
    if (recovery) {
      const text = `${service} ${describeRecovery(recovery, o.recoveryTimeoutMs)}`
      if (recovery.recovered) ui.success(text)
      else ui.warn(text, `msvc ps and msvc logs ${service} show why`)
    }
    if (opts.json) ui.json(report)
    if (recovery && !recovery.recovered) throw new ExitError(EXIT.breached)
  } finally {
    line.clear()
    trap.release()
  }
}

async function printDryRun(
  d: Engine,
  ws: Workspace,
  service: string,
  spec: FaultSpec,
  selection: { replica?: number; all?: boolean },
  durationMs: number | undefined,
  ui: Ui,
  json?: boolean,
) {
  const targets = await resolveTargets(d, ws, service, selection)
  const ports = stackMember(ws, service)!.ports
  const plan = netfilterPlan(spec, {
    faultId: '00000000',
    ports,
    peers: spec.kind === 'partition' && spec.from ? [`<addresses of ${spec.from}>`] : [],
    proxyPorts: Object.fromEntries(ports.map((x, i) => [x, 61000 + i])),
  })
  const out = {
    fault: describeFault(spec),
    mechanism: MECHANISM[spec.kind],
    targets: targets.map((t) => ({ name: t.name, pid: t.pid })),
    ...(durationMs !== undefined ? { forMs: durationMs } : {}),
    ...(plan.apply.length ? { netns: { apply: plan.apply, undo: plan.undo } } : {}),
  }
  if (json) return ui.json(out)
  ui.info(`would apply ${out.fault} to ${targets.map((t) => t.name).join(', ')} (${out.mechanism})`)
  if (spec.kind === 'latency' || spec.kind === 'bandwidth')
    ui.info(`  start a fault proxy: msvc's own node as nobody, in the target's network namespace (nsenter)`)
  for (const argv of plan.apply) ui.data(`nsenter -t <pid> -n ${argv.map(shellQuote).join(' ')}`)
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`)

export interface ChaosListOptions {
  json?: boolean
}

/** `msvc chaos status`: the faults in effect, from the ledger, checked against the containers. */
export async function runStatus(opts: ChaosListOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  await restoreLeftoverFaults(root, workspace, ctx.ui, ctx.engine)
  const ledger = await readLedger(root)
  const d = ledger.faults.length ? await ctx.engine() : undefined
  const rows = []
  for (const f of ledger.faults) {
    const lapsed: string[] = []
    for (const t of f.targets) {
      const c = await d!
        .getContainer(t.containerId)
        .inspect()
        .catch(() => undefined)
      if (!c) lapsed.push(`${t.name} removed`)
      else if (MECHANISM[f.spec.kind] !== 'engine' && c.State.Pid !== t.pid)
        lapsed.push(`${t.name} restarted`)
    }
    rows.push({
      id: f.id,
      service: f.service,
      fault: describeFault(f.spec),
      kind: f.spec.kind,
      mechanism: MECHANISM[f.spec.kind],
      targets: f.targets.map((t) => t.name),
      since: f.appliedAt,
      until: f.until ?? null,
      heldBy: f.owner !== undefined && isProcessAlive(f.owner) ? f.owner : null,
      ...(f.experiment ? { experiment: f.experiment } : {}),
      ...(lapsed.length ? { lapsed } : {}),
    })
  }
  if (opts.json) return ctx.ui.json({ workspace: workspace.name, ledger: ledgerPath(root), faults: rows })
  if (rows.length === 0) return ctx.ui.info(`no active faults in ${workspace.name}`)
  ctx.ui.table(
    rows.map((r) => [
      r.service,
      r.fault,
      r.targets.join(', '),
      clock(Date.parse(r.since)),
      r.until ? `${clock(Date.parse(r.until))} (pid ${r.heldBy ?? '?'})` : 'msvc chaos restore',
      r.lapsed ? r.lapsed.join(', ') : '',
    ]),
    ['SERVICE', 'FAULT', 'CONTAINERS', 'SINCE', 'UNTIL', 'NOTE'],
  )
}

/** `msvc chaos restore`: undoes every fault in the ledger and removes strays msvc left. */
export async function runRestore(opts: ChaosListOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const restored = await restoreLeftoverFaults(root, workspace, ctx.ui, ctx.engine, { all: true })
  const d = await ctx.engine()
  const left = await readLedger(root)
  const notes = await sweepStrays(d, workspace, new Set(left.faults.map((f) => f.id)))
  for (const n of notes) ctx.ui.info(n)
  const failed = restored.filter((r) => r.error)
  if (opts.json)
    ctx.ui.json({
      restored: restored
        .filter((r) => !r.error)
        .map((r) => ({
          id: r.entry.id,
          service: r.entry.service,
          fault: describeFault(r.entry.spec),
          notes: r.notes,
        })),
      failed: failed.map((r) => ({ id: r.entry.id, service: r.entry.service, error: r.error })),
      swept: notes,
    })
  else if (restored.length === 0 && notes.length === 0)
    ctx.ui.info(`no faults to restore in ${workspace.name}`)
  else if (failed.length === 0) ctx.ui.success(`restored ${restored.length} fault(s) in ${workspace.name}`)
  if (failed.length) throw new ExitError(EXIT.failed)
}

/** The HTTP port whose /health/ready tells recovery; a database has none (its healthcheck tells). */
function httpPortOf(ws: Workspace, service: string): { httpPort?: number } {
  const m = stackMember(ws, service)
  return m?.kind === 'service' ? { httpPort: m.httpPort } : {}
}
