import type { Capability } from '../core/workspace/model.js'
import type { AddServiceOptions } from '../core/workspace/edit.js'
import { CAPABILITIES, STORES, type Store } from '../core/workspace/model.js'
import { checkEventType, checkServiceName, toPlural } from '../core/workspace/names.js'
import { UserError } from '../errors.js'
import { parseFieldsFlag, type FieldProblem, type FieldSpec } from '../core/workspace/fields.js'
import { parseOperationsFlag, type OperationSpec } from '../core/workspace/operations.js'
import type { Prompter } from '../io/prompt.js'

/** Raw service flags shared by `create-service` and `msvc add`. */
export interface ServiceCliOptions {
  description?: string
  gateway?: boolean
  http?: boolean
  grpc?: boolean
  events?: boolean
  capabilities?: string
  resource?: string
  publishes?: string
  subscribes?: string
  calls?: string
  port?: string
  grpcPort?: string
  fields?: string
  operations?: string
  store?: string
  yes?: boolean
}

export const splitList = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)

function parsePort(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!/^\d+$/.test(v) || n < 1024 || n > 65535)
    throw new UserError(`${flag} must be a port from 1024 to 65535, got "${v}"`, `for example ${flag} 3005`)
  return n
}

function capabilitiesFromFlags(opts: ServiceCliOptions): Capability[] | undefined {
  const picked = new Set<Capability>()
  for (const c of splitList(opts.capabilities) ?? []) {
    if (c === 'none') continue
    if (!(CAPABILITIES as readonly string[]).includes(c))
      throw new UserError(`unknown capability "${c}"`, `choose from ${CAPABILITIES.join(', ')}`)
    picked.add(c as Capability)
  }
  if (opts.http) picked.add('http')
  if (opts.grpc) picked.add('grpc')
  if (opts.events) picked.add('events')
  // `--capabilities none` (or an empty list) asks for a service with health and metrics only
  const explicit = picked.size > 0 || opts.capabilities !== undefined
  return explicit ? CAPABILITIES.filter((c) => picked.has(c)) : undefined
}

/**
 * Flags first; on an interactive terminal, asks only for what the flags left out.
 * Without a terminal (or with --yes) the defaults stand: the http capability only.
 */
/** `--fields` and `--operations`, read before anything is asked: a typo fails at once. */
export function readModelFlags(opts: ServiceCliOptions): {
  fields?: FieldSpec[]
  operations?: OperationSpec[]
} {
  const refuse = (flag: string, problems: FieldProblem[]): never => {
    const first = problems[0]!
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''
    throw new UserError(
      `${flag}: ${first.field ? `${first.field}: ` : ''}${first.message}${more}`,
      first.hint ??
        (flag === '--fields'
          ? 'write name:type[!][=default], e.g. sku:string!,quantity:integer=0'
          : 'write name(field:type,...), e.g. reserve(sku:string!,quantity:integer!)'),
    )
  }
  const out: { fields?: FieldSpec[]; operations?: OperationSpec[] } = {}
  if (opts.fields !== undefined) {
    const r = parseFieldsFlag(opts.fields)
    if (!r.ok) refuse('--fields', r.problems)
    else if (r.fields.length === 0) refuse('--fields', [{ field: '', message: 'names no field' }])
    else out.fields = r.fields
  }
  if (opts.operations !== undefined) {
    const r = parseOperationsFlag(opts.operations)
    if (!r.ok) refuse('--operations', r.problems)
    else out.operations = r.operations
  }
  return out
}

export async function resolveServiceInput(
  name: string | undefined,
  opts: ServiceCliOptions,
  prompt: Prompter,
  interactive: boolean,
  defaultName?: string,
): Promise<AddServiceOptions> {
  if (opts.gateway) return gatewayInput(name, opts)
  const ask = interactive && !opts.yes
  const model = readModelFlags(opts)
  if (name === undefined) {
    if (!ask) {
      if (defaultName === undefined)
        throw new UserError('missing service name', 'for example: msvc add payment --http')
      name = defaultName
    } else {
      name = await prompt.input({
        message: 'Service name (a bounded context, e.g. payment):',
        ...(defaultName ? { default: defaultName } : {}),
        validate: (v) => checkServiceName(v) ?? true,
      })
    }
  }
  let description = opts.description
  if (description === undefined && ask)
    description = await prompt.input({ message: `What does ${name} do? (one line)`, default: '' })
  let capabilities = capabilitiesFromFlags(opts)
  if (capabilities === undefined) {
    capabilities = ask
      ? await prompt.checkbox<Capability>({
          message: 'Capabilities:',
          choices: [
            { value: 'http', name: 'http   REST resource (fastify)', checked: true },
            { value: 'grpc', name: 'grpc   gRPC server and proto' },
            { value: 'events', name: 'events publish/subscribe over NATS JetStream' },
          ],
        })
      : ['http']
  }
  let resource = opts.resource
  if (resource === undefined && ask && capabilities.includes('http'))
    resource = await prompt.input({ message: 'REST resource (plural):', default: toPlural(name) })
  let publishes = splitList(opts.publishes)
  let subscribes = splitList(opts.subscribes)
  const eventsQuestion = (message: string) =>
    prompt
      .input({
        message,
        default: '',
        validate: (v) => {
          for (const t of splitList(v) ?? []) {
            const why = checkEventType(t)
            if (why) return why
          }
          return true
        },
      })
      .then(splitList)
  if (ask && capabilities.includes('events')) {
    if (publishes === undefined)
      publishes = await eventsQuestion('Events it publishes (comma-separated, e.g. order.created):')
    if (subscribes === undefined)
      subscribes = await eventsQuestion('Events it subscribes to (comma-separated):')
  }
  const httpPort = parsePort('--port', opts.port)
  const grpcPort = parsePort('--grpc-port', opts.grpcPort)
  const calls = splitList(opts.calls)
  return {
    name,
    capabilities,
    ...(description ? { description } : {}),
    ...(resource ? { resource } : {}),
    ...(publishes ? { publishes } : {}),
    ...(subscribes ? { subscribes } : {}),
    ...(calls ? { calls } : {}),
    ...(httpPort !== undefined ? { httpPort } : {}),
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    ...model,
    ...(opts.store !== undefined ? { store: readStore(opts.store) } : {}),
  }
}

function readStore(v: string): Store {
  if (!(STORES as readonly string[]).includes(v))
    throw new UserError(`--store "${v}" is not a store`, `choose from ${STORES.join(', ')}`)
  return v as Store
}

/** `--gateway`: nothing to ask (its routes follow the services); what a service takes is refused later. */
function gatewayInput(name: string | undefined, opts: ServiceCliOptions): AddServiceOptions {
  const capabilities = capabilitiesFromFlags(opts) ?? []
  const model = readModelFlags(opts)
  const httpPort = parsePort('--port', opts.port)
  const grpcPort = parsePort('--grpc-port', opts.grpcPort)
  return {
    name: name ?? 'gateway',
    kind: 'gateway',
    capabilities,
    ...(opts.description ? { description: opts.description } : {}),
    ...(opts.resource !== undefined ? { resource: opts.resource } : {}),
    ...(opts.publishes !== undefined ? { publishes: splitList(opts.publishes) ?? [] } : {}),
    ...(opts.subscribes !== undefined ? { subscribes: splitList(opts.subscribes) ?? [] } : {}),
    ...(opts.calls !== undefined ? { calls: splitList(opts.calls) ?? [] } : {}),
    ...(httpPort !== undefined ? { httpPort } : {}),
    ...(grpcPort !== undefined ? { grpcPort } : {}),
    ...(opts.store !== undefined ? { store: readStore(opts.store) } : {}),
    ...model,
  }
}
