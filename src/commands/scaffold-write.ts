import type { Ctx } from '../context.js'
import type { TemplateSet } from '../core/scaffold/plan.js'
import type { FilePlan } from '../core/scaffold/render.js'
import type { Workspace } from '../core/workspace/model.js'
import { applyPlan } from '../io/fs.js'
import type { WarmPlugin } from '../io/proto/plugin.js'
import { startPlannedCompile } from '../io/proto/protoc-run.js'
import { loadTemplateSet } from '../io/templates.js'
import { printPlan } from '../ui/plan.js'

/**
 * The end of create-service and `msvc add`: render the plan, print it (--dry-run) or write it, and
 * for a new grpc service generate the workspace's clients. The work overlaps (issue #2: scaffolding
 * under 300 ms): the proto command's modules and the warm ts-proto plugins load while templates
 * render, and protoc runs on the planned protos while the files are written. Plugins not used are
 * stopped. Returns false on a dry run.
 */
export async function renderWriteGenerate(o: {
  ctx: Ctx
  root: string
  ws: Workspace
  service: string
  title: string
  plan: (templates: TemplateSet) => FilePlan
  dryRun: boolean
  force: boolean
  /** warm plugins when the new service has grpc (none otherwise) */
  grpc: boolean
  warm: WarmPlugin[]
}): Promise<boolean> {
  const { ctx, warm } = o
  const protoCommand = o.grpc && !o.dryRun ? import('./proto.js') : undefined
  try {
    const plan = o.plan(await loadTemplateSet(ctx.templatesDir))
    if (o.dryRun) {
      printPlan(ctx.ui, plan)
      return false
    }
    const early = protoCommand ? startPlannedCompile(o.service, plan.files, warm) : undefined
    await ctx.ui.step(o.title, () => applyPlan(o.root, plan, { force: o.force }))
    if (protoCommand) await (await protoCommand).generateAfterScaffold(o.root, o.ws, ctx, warm, early)
    return true
  } finally {
    for (const w of warm) w.dispose()
  }
}
