import { relative } from 'node:path'
import type { Ctx } from '../context.js'
import type { ProtoProblem } from '../core/proto/model.js'
import type { Workspace } from '../core/workspace/model.js'
import { formatProblem } from '../core/proto/protoc-errors.js'
import { EXIT, ExitError } from '../errors.js'
import { applyClientsDiff, generateClients, isUpToDate } from '../io/proto/gen.js'
import type { WarmPlugin } from '../io/proto/plugin.js'
import type { EarlyCompile } from '../io/proto/protoc-run.js'
import { lintProtos, breakingChanges } from '../io/proto/buf.js'
import { loadWorkspace } from '../io/workspace.js'

export interface ProtoGenCliOptions {
  check?: boolean
  json?: boolean
}

/** Prints problems as `file:line:col message` on stderr and fails with exit 1. */
/** Reports problems and exits: `code` 1 when msvc could not do its job, 2 when a check found them. */
function failWith(
  ctx: Ctx,
  what: string,
  problems: ProtoProblem[],
  hint?: string,
  code: number = EXIT.failed,
): never {
  for (const p of problems) ctx.ui.error(formatProblem(p))
  ctx.ui.error(`${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, hint)
  throw new ExitError(code)
}

/** `msvc proto gen`: typed clients for every .proto into packages/clients/src/gen. */
export async function runProtoGen(opts: ProtoGenCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const t0 = performance.now()
  const result = await generateClients(root, workspace)
  if (!result.ok) failWith(ctx, 'proto gen', result.problems, 'nothing was written')
  const { diff } = result
  const changed = [...diff.create.map((f) => f.path), ...diff.write.map((f) => f.path), ...diff.remove]
  if (opts.check) {
    if (opts.json) ctx.ui.json({ upToDate: isUpToDate(diff), stale: changed.sort() })
    if (isUpToDate(diff)) return ctx.ui.success('generated clients are up to date')
    for (const p of changed.sort()) ctx.ui.error(`${p} is stale`)
    ctx.ui.error(
      `${changed.length} generated file(s) out of date`,
      'run `msvc proto gen` and commit the result',
    )
    throw new ExitError(EXIT.found)
  }
  await applyClientsDiff(root, diff)
  const ms = Math.round(performance.now() - t0)
  if (opts.json)
    return ctx.ui.json({
      protos: result.protoCount,
      written: [...diff.create, ...diff.write].map((f) => f.path).sort(),
      removed: [...diff.remove].sort(),
      ms,
    })
  const where = relative(ctx.cwd, root) || '.'
  ctx.ui.success(
    `${result.protoCount} proto file(s) -> packages/clients/src/gen: ${diff.write.length + diff.create.length} written, ${diff.remove.length} removed, ${ms} ms` +
      (where === '.' ? '' : ` (${where})`),
  )
}

/** `msvc proto lint`: buf lint (STANDARD) over every service's proto folder. */
export async function runProtoLint(opts: { json?: boolean }, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const problems = await lintProtos(root, workspace)
  if (opts.json) ctx.ui.json({ problems })
  if (problems.length > 0) failWith(ctx, 'proto lint', problems, undefined, EXIT.found)
  ctx.ui.success('proto lint: no problems')
}

/** `msvc proto breaking --against <ref>`: wire and source breaking changes since a git ref. */
export async function runProtoBreaking(opts: { against: string; json?: boolean }, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  const problems = await breakingChanges(root, workspace, opts.against)
  if (opts.json) ctx.ui.json({ against: opts.against, problems })
  if (problems.length > 0)
    failWith(ctx, `proto breaking against ${opts.against}`, problems, undefined, EXIT.found)
  ctx.ui.success(`proto breaking: no breaking changes against ${opts.against}`)
}

/**
 * Run by create-service and `msvc add` after writing files, so that a new workspace builds as
 * generated: its grpc services import their own generated server interface. A failure here (a
 * broken proto elsewhere) does not undo the new service; it says what to fix and what to rerun.
 */
export async function generateAfterScaffold(
  root: string,
  ws: Workspace,
  ctx: Ctx,
  warm: WarmPlugin[] = [],
  early?: Map<string, EarlyCompile>,
): Promise<void> {
  const result = await ctx.ui.step('Generating typed gRPC clients (msvc proto gen)', () =>
    generateClients(root, ws, { warm, ...(early ? { early } : {}) }),
  )
  if (!result.ok) {
    for (const p of result.problems) ctx.ui.warn(formatProblem(p))
    ctx.ui.warn(
      'proto gen failed; the service files are written',
      'fix the problems above, then run `msvc proto gen`',
    )
    return
  }
  await applyClientsDiff(root, result.diff)
}
