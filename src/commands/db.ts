import { join } from 'node:path'
import type { Ctx } from '../context.js'
import { databaseSettings, POSTGRES_PORT } from '../core/compose/build-stack.js'
import { listPostgresServices, toDatabaseService } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import { UserError } from '../errors.js'
import { MIGRATIONS_DIR } from '../io/db/migrations.js'
import { openWorkspace } from './stack-workspace.js'

/**
 * `msvc db migrate [service]`: applies each postgres service's pending migrations to its running
 * database (all of them without a name), through the database's loopback port.
 */
export async function runDbMigrate(
  service: string | undefined,
  opts: { json?: boolean },
  ctx: Ctx,
): Promise<void> {
  const { root, workspace } = await openWorkspace(ctx)
  const postgres = listPostgresServices(workspace)
  if (service !== undefined && !postgres.includes(service))
    throw new UserError(
      workspace.services[service]
        ? `service ${service} keeps no database (its store is ${workspace.services[service]!.store ?? 'memory'})`
        : `unknown service "${service}"`,
      postgres.length
        ? `postgres services: ${postgres.join(', ')}`
        : hintKnown(Object.keys(workspace.services)),
    )
  const targets = service !== undefined ? [service] : postgres
  if (targets.length === 0)
    throw new UserError(
      'no service of the workspace keeps a database',
      'add store: postgres to a service with a resource',
    )
  const runtime = await ctx.runtime(root, workspace)
  const running = await runtime.ps()
  const { applyMigrations } = await import('../io/db/apply.js')
  const results: { service: string; applied: number }[] = []
  for (const name of targets) {
    const db = toDatabaseService(name)
    const container = running.find((c) => c.service === db && c.state === 'running')
    const port = container?.ports
      .map((p) => new RegExp(`^127\\.0\\.0\\.1:(\\d+)->${POSTGRES_PORT}/tcp$`).exec(p)?.[1])
      .find((p) => p !== undefined)
    if (!container || !port) throw new UserError(`${db} is not running`, `start it with msvc up ${name}`)
    const s = databaseSettings(name)
    const url = `postgres://${s.user}:${s.password}@127.0.0.1:${port}/${s.database}`
    const applied = await ctx.ui.step(`Migrating ${db}`, () =>
      applyMigrations(url, join(root, 'services', name, MIGRATIONS_DIR)),
    )
    results.push({ service: name, applied })
  }
  if (opts.json) return ctx.ui.json({ migrated: results })
  for (const r of results)
    ctx.ui.info(`  ${r.service}: ${r.applied === 0 ? 'up to date' : `${r.applied} migration(s) applied`}`)
}
