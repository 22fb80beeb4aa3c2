import { listStackNames } from '../core/compose/build-stack.js'
import { listObservabilityBackends, type Workspace } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import type { Ctx } from '../context.js'
import { UserError } from '../errors.js'
import { restoreLeftoverFaults } from '../io/chaos/leftovers.js'
import { loadWorkspace } from '../io/workspace.js'

/**
 * Loads the workspace and undoes chaos faults nobody will undo (their msvc died): every stack
 * command is "the next msvc command" of issue #6, so a crash never leaves a fault in place. `down`
 * undoes every fault, held ones included, before it removes the containers. Cheap when the ledger
 * is empty (one failed read).
 */
export async function openWorkspace(ctx: Ctx, restoreAll = false) {
  const loaded = await loadWorkspace(ctx.cwd)
  await restoreLeftoverFaults(loaded.root, loaded.workspace, ctx.ui, ctx.engine, { all: restoreAll })
  return loaded
}

/**
 * `allowInfra`: NATS, the services' databases and the observability backends are accepted too; `extra`: the services of
 * docker-compose.override.yml, which logs and restart accept as well.
 */
export function checkServiceArgs(
  ws: Workspace,
  names: string[],
  allowInfra = false,
  extra: string[] = [],
): void {
  const known = allowInfra
    ? [...listStackNames(ws), ...listObservabilityBackends(ws)]
    : Object.keys(ws.services)
  for (const n of names)
    if (!known.includes(n) && !extra.includes(n))
      throw new UserError(`unknown service "${n}"`, hintKnown([...known, ...extra]))
}
