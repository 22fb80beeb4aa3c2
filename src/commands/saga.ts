import type { Ctx } from '../context.js'
import { SAGA_STATES, type SagaDetails, type SagaState, type SagaSummary } from '../core/saga/view.js'
import { publishesPorts, type Workspace } from '../core/workspace/model.js'
import { hintKnown } from '../core/workspace/parse.js'
import { UserError } from '../errors.js'
import { serviceBaseUrl } from '../io/chaos/probes.js'
import { formatSagaDetails, formatSagaList } from '../ui/saga.js'
import { openWorkspace } from './stack-workspace.js'

export interface SagaLsOptions {
  state?: string
  saga?: string
  limit?: string
  json?: boolean
}

/**
 * `msvc saga ls|show|retry` (issue #17) read and act through the owners' own routes (GET /sagas,
 * GET /sagas/:id, POST /sagas/:id/retry) on the running stack: the kit that writes the saga rows
 * is their only reader too, so the CLI cannot drift from the schema. The price: an owner that is
 * down shows nothing (its sagas wait in its database, and resume when it is back).
 */
interface Owner {
  service: string
  sagas: string[]
  base: string
}

/** The services that own a saga, each with its base URL; a one-line error when none is declared. */
async function owners(ws: Workspace, ctx: Ctx): Promise<Owner[]> {
  const byOwner = new Map<string, string[]>()
  for (const s of Object.values(ws.sagas ?? {}))
    byOwner.set(s.owner, [...(byOwner.get(s.owner) ?? []), s.name])
  if (byOwner.size === 0)
    throw new UserError('msvc.yaml declares no saga', 'add one under sagas: (docs/sagas.md)')
  const out: Owner[] = []
  for (const [service, sagas] of byOwner) {
    // a published port needs no engine; replicas are reached on their container's address
    const base = publishesPorts(ws, service)
      ? `http://127.0.0.1:${ws.services[service]!.ports.http}`
      : await serviceBaseUrl(await ctx.engine(), ws, service)
    out.push({ service, sagas, base })
  }
  return out
}

/** One request to an owner; an owner that does not answer is a one-line error naming it. */
async function ask(owner: Owner, path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(`${owner.base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) })
  } catch (e) {
    throw new UserError(
      `${owner.service} (owner of ${owner.sagas.join(', ')}) does not answer at ${owner.base}: ${(e as Error).message}`,
      `start it with msvc up ${owner.service}; its sagas wait in its database meanwhile`,
    )
  }
}

async function body<T>(owner: Owner, r: Response, what: string): Promise<T> {
  if (!r.ok)
    throw new UserError(
      `${owner.service} answered ${r.status} to ${what}: ${(await r.text()).slice(0, 200)}`,
      `msvc logs ${owner.service} shows why`,
    )
  return (await r.json()) as T
}

const checkState = (state: string | undefined): SagaState | undefined => {
  if (state === undefined) return undefined
  if (!(SAGA_STATES as readonly string[]).includes(state))
    throw new UserError(`--state "${state}" is not a saga state`, `states: ${SAGA_STATES.join(', ')}`)
  return state as SagaState
}

/** `msvc saga ls`: the newest sagas of every owner (or of one saga), newest first. */
export async function runSagaLs(opts: SagaLsOptions, ctx: Ctx): Promise<void> {
  const state = checkState(opts.state)
  const limit = opts.limit !== undefined ? Number(opts.limit) : 50
  if (!Number.isInteger(limit) || limit < 1 || limit > 999)
    throw new UserError(
      `--limit "${opts.limit}" is not a number of sagas from 1 to 999`,
      'for example --limit 20',
    )
  const { workspace } = await openWorkspace(ctx)
  const declared = Object.keys(workspace.sagas ?? {})
  if (opts.saga !== undefined && !declared.includes(opts.saga))
    throw new UserError(`unknown saga "${opts.saga}"`, hintKnown(declared))
  const query = new URLSearchParams({ limit: String(limit), ...(state ? { state } : {}) })
  const found: SagaSummary[] = []
  for (const owner of await owners(workspace, ctx)) {
    if (opts.saga !== undefined && !owner.sagas.includes(opts.saga)) continue
    const page = await body<{ items: SagaSummary[] }>(
      owner,
      await ask(owner, `/sagas?${query}`),
      'GET /sagas',
    )
    found.push(...page.items)
  }
  const sagas = found
    .filter((s) => opts.saga === undefined || s.name === opts.saga)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))
    .slice(0, limit)
  if (opts.json) return ctx.ui.json({ sagas })
  if (sagas.length === 0) {
    ctx.ui.info(state ? `no saga is ${state}` : 'no saga has started yet')
    return
  }
  ctx.ui.data(`${formatSagaList(sagas, Date.now())}\n`)
}

/** The owner that knows saga `id`, and the saga; a one-line error when none does. */
async function findSaga(id: string, ctx: Ctx): Promise<{ owner: Owner; saga: SagaDetails }> {
  if (!/^[\w-]{1,100}$/.test(id))
    throw new UserError(`"${id}" is not a saga id`, 'msvc saga ls lists the sagas with their ids')
  const { workspace } = await openWorkspace(ctx)
  for (const owner of await owners(workspace, ctx)) {
    const r = await ask(owner, `/sagas/${id}`)
    if (r.status === 404) continue
    return { owner, saga: await body<SagaDetails>(owner, r, `GET /sagas/${id}`) }
  }
  throw new UserError(`no saga ${id}`, 'msvc saga ls lists the sagas with their ids')
}

/** `msvc saga show <id>`: its state and its steps as a timeline. */
export async function runSagaShow(id: string, opts: { json?: boolean }, ctx: Ctx): Promise<void> {
  const { saga } = await findSaga(id, ctx)
  if (opts.json) return ctx.ui.json(saga)
  ctx.ui.data(`${formatSagaDetails(saga, Date.now())}\n`)
}

/**
 * `msvc saga retry <id>`: a stuck saga goes back to compensating (its compensations are tried
 * again from the one that kept failing), once its cause is fixed. Any other state: exit 1.
 */
export async function runSagaRetry(id: string, opts: { json?: boolean }, ctx: Ctx): Promise<void> {
  const { owner, saga } = await findSaga(id, ctx)
  const r = await ask(owner, `/sagas/${id}/retry`, { method: 'POST' })
  if (r.status === 409)
    throw new UserError(
      `saga ${id} is ${saga.state}: only a stuck saga is retried`,
      `msvc saga show ${id} shows where it is`,
    )
  await body<{ sagaId: string }>(owner, r, `POST /sagas/${id}/retry`)
  if (opts.json) return ctx.ui.json({ sagaId: id, state: 'compensating' })
  ctx.ui.success(`saga ${id} compensates again: msvc saga show ${id} follows it`)
}
