import { buildComposeStack, renderComposeYaml } from '../core/compose/build-stack.js'
import type { Ctx } from '../context.js'
import { loadWorkspace } from '../io/workspace.js'
import { COMPOSE_FILE, writeComposeFile } from '../runtime/docker-runtime.js'

export interface ComposeCliOptions {
  stdout?: boolean
}

/** `msvc compose`: writes docker-compose.yml from msvc.yaml (or prints it). */
export async function runCompose(opts: ComposeCliOptions, ctx: Ctx): Promise<void> {
  const { root, workspace } = await loadWorkspace(ctx.cwd)
  if (opts.stdout) return ctx.ui.data(renderComposeYaml(buildComposeStack(workspace)))
  await writeComposeFile(root, workspace)
  ctx.ui.success(
    `wrote ${COMPOSE_FILE} (${Object.keys(buildComposeStack(workspace).services).length} services) in ${root}`,
  )
}
