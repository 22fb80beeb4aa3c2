/**
 * Sagas in msvc.yaml (issue #17, docs/sagas.md): a transaction across services, each step an
 * operation of a service, undone by its compensation in reverse when a later step fails. This
 * module resolves `sagas:` against the services: it checks every reference and every input
 * mapping's type, so that what the owner's generated orchestrator calls is known to exist and to
 * fit, and it adds each remote callee to the owner's `calls`.
 */
import { describeType, type FieldSpec, type FieldType } from './fields.js'
import { findGateway, toEntityFields, type ServiceSpec } from './model.js'
import type { OperationSpec } from './operations.js'

/** `inventory.reserve`: an operation of a service. */
export interface OperationRef {
  service: string
  operation: string
}

export interface SagaStepSpec {
  /** kebab-case, unique within its saga: the idempotency key's suffix and the timeline's label */
  name: string
  call: OperationRef
  compensate?: OperationRef
  /** the record the operation acts on (`input.productId`), for an operation on one record */
  id?: string
  /** each field of the operation's input, from `input.<path>` or `steps.<step>.<path>` */
  input: Record<string, string>
  /** one attempt's limit (`2s`) */
  timeout: string
  /** extra attempts after an error whose outcome is unknown */
  retries: number
  /** the owner's own operation: run in process, in the transaction that records the step */
  local: boolean
}

export interface SagaSpec {
  name: string
  /** the service that runs the saga and keeps its state in its PostgreSQL */
  owner: string
  /** `create`: the owner's create starts the saga, with the created record as its input */
  trigger: 'create'
  /** how long the create waits for the saga to end before answering 202 */
  wait: string
  steps: SagaStepSpec[]
}

/** msvc.yaml's `sagas.<name>`, after the JSON schema has checked its shape. */
export interface RawSaga {
  owner: string
  trigger?: 'create'
  wait?: string
  steps: RawSagaStep[]
}

export interface RawSagaStep {
  name: string
  call: string
  compensate?: string
  id?: string
  input?: Record<string, string>
  timeout?: string
  retries?: number
}

export interface SagaProblem {
  /** where in msvc.yaml, from the root */
  path: (string | number)[]
  message: string
  hint?: string
  /** point at the key rather than its value */
  key?: boolean
}

export const SAGA_DEFAULTS = { trigger: 'create', wait: '1s', timeout: '5s', retries: 0 } as const

/** The fields every record has besides its declared ones, with their types. */
const RECORD_FIELDS: readonly FieldSpec[] = [
  { name: 'id', type: { kind: 'string' }, required: true, unique: true },
  { name: 'version', type: { kind: 'integer' }, required: true, unique: false },
  { name: 'createdAt', type: { kind: 'timestamp' }, required: true, unique: false },
  { name: 'updatedAt', type: { kind: 'timestamp' }, required: true, unique: false },
]

/** A record's fields: the declared ones and id, version and the times. */
const recordFields = (s: ServiceSpec): readonly FieldSpec[] => [...RECORD_FIELDS, ...toEntityFields(s)]

/** True when a stored record always has the field (see docs/model.md, Fields). */
const alwaysPresent = (f: FieldSpec) => f.required || f.default !== undefined || f.type.kind === 'array'

/**
 * Whether a value of type `from` fits where `to` is expected: the same type, an integer for a
 * number, a uuid, timestamp or enum for a string, an enum whose values the target's include, an
 * object with every field the target requires (each fitting), a list of fitting items.
 */
export function fitsType(from: FieldType, to: FieldType): boolean {
  if (to.kind === 'string') return ['string', 'uuid', 'timestamp', 'enum'].includes(from.kind)
  if (to.kind === 'number') return from.kind === 'number' || from.kind === 'integer'
  if (to.kind === 'enum') return from.kind === 'enum' && from.values.every((v) => to.values.includes(v))
  if (to.kind === 'array') return from.kind === 'array' && fitsType(from.items, to.items)
  if (to.kind === 'object') {
    if (from.kind !== 'object') return false
    return to.fields.every((t) => {
      const f = from.fields.find((x) => x.name === t.name)
      if (!f) return !t.required
      return fitsType(f.type, t.type) && (!t.required || alwaysPresent(f))
    })
  }
  return from.kind === to.kind
}

/** Parses `service.operation`. */
function parseRef(text: string): OperationRef | undefined {
  const m = /^([a-z][-a-z0-9]*)\.([a-z][A-Za-z0-9]*)$/.exec(text.trim())
  return m ? { service: m[1]!, operation: m[2]! } : undefined
}

const listOr = (items: string[], none: string) => (items.length ? items.join(', ') : none)

/**
 * Resolves `sagas:` against the services (their fields, operations and stores): the sagas with
 * defaults filled in, the problems each located by its msvc.yaml path, and the callees each owner
 * now calls (to add to its `calls`). Problems of one saga do not stop the others being checked.
 */
export function resolveSagas(
  raw: Record<string, RawSaga>,
  services: Record<string, ServiceSpec>,
): { sagas: Record<string, SagaSpec>; problems: SagaProblem[]; calls: Map<string, string[]> } {
  const problems: SagaProblem[] = []
  const sagas: Record<string, SagaSpec> = {}
  const calls = new Map<string, string[]>()
  const serviceNames = Object.keys(services).sort()
  const gateway = findGateway({ name: '', services, events: {} })
  const triggeredBy = new Map<string, string>()
  const edges: { saga: string; owner: string; callee: string }[] = []

  for (const [name, saga] of Object.entries(raw)) {
    const at = (...path: (string | number)[]) => ['sagas', name, ...path]
    const add = (path: (string | number)[], message: string, hint?: string, key = false) =>
      problems.push({ path, message: `saga ${name}: ${message}`, ...(hint ? { hint } : {}), key })
    const before = problems.length
    const owner = services[saga.owner]
    if (!owner) {
      add(
        at('owner'),
        `its owner "${saga.owner}" is not a service`,
        `known services: ${serviceNames.join(', ')}`,
      )
      continue
    }
    if (saga.owner === gateway) {
      add(
        at('owner'),
        `its owner ${saga.owner} is the gateway`,
        'a saga belongs to a service with a database',
      )
      continue
    }
    if (owner.store !== 'postgres')
      add(
        at('owner'),
        `its owner ${saga.owner} has no store: postgres`,
        `add store: postgres to services.${saga.owner}: the saga's state lives in its database`,
      )
    const trigger = saga.trigger ?? SAGA_DEFAULTS.trigger
    const other = triggeredBy.get(saga.owner)
    if (other)
      add(
        at('owner'),
        `${saga.owner}'s create already starts saga ${other}`,
        'one saga per owner starts on its create: make the other steps part of it',
      )
    else triggeredBy.set(saga.owner, name)

    const seen = new Map<string, number>()
    const steps: SagaStepSpec[] = []
    const ownerCalls = new Set<string>()
    saga.steps.forEach((step, i) => {
      const stepAt = (...path: (string | number)[]) => at('steps', i, ...path)
      const first = seen.get(step.name)
      if (first !== undefined)
        add(
          stepAt('name'),
          `step ${step.name} is declared twice (steps ${first + 1} and ${i + 1})`,
          'rename one',
        )
      else seen.set(step.name, i)

      const resolveOp = (
        key: 'call' | 'compensate',
        text: string,
      ): { ref: OperationRef; op: OperationSpec; callee: ServiceSpec } | undefined => {
        const ref = parseRef(text)
        if (!ref) {
          add(stepAt(key), `${key} "${text}" is not service.operation`, 'e.g. call: inventory.reserve')
          return undefined
        }
        const callee = services[ref.service]
        if (!callee || ref.service === gateway) {
          add(
            stepAt(key),
            `step ${step.name} ${key === 'call' ? 'calls' : 'compensates with'} unknown service "${ref.service}"`,
            `known services: ${listOr(
              serviceNames.filter((s) => s !== gateway),
              'none',
            )}`,
          )
          return undefined
        }
        const op = callee.operations?.find((o) => o.name === ref.operation)
        if (!op) {
          const ops = (callee.operations ?? []).map((o) => o.name)
          add(
            stepAt(key),
            `${ref.service} has no operation ${ref.operation}${key === 'compensate' ? ' to compensate with' : ''}`,
            ops.length
              ? `operations of ${ref.service}: ${ops.join(', ')}`
              : `declare it under services.${ref.service}.operations`,
          )
          return undefined
        }
        if (op.returns) {
          add(
            stepAt(key),
            `${ref.service}.${ref.operation} answers its own shape (returns), which a saga step cannot take yet`,
            'a saga step calls an operation that answers the record it changed: leave out returns',
          )
          return undefined
        }
        return { ref, op, callee }
      }

      const call = resolveOp('call', step.call)
      const compensate = step.compensate !== undefined ? resolveOp('compensate', step.compensate) : undefined
      if (!call || (step.compensate !== undefined && !compensate)) return

      if (compensate && compensate.ref.service !== call.ref.service) {
        add(
          stepAt('compensate'),
          `step ${step.name} calls ${call.ref.service} and compensates with ${compensate.ref.service}`,
          'a compensation undoes its step in the same service',
        )
        return
      }

      // the step's operations: the call and its compensation take the same id and input
      const ops = [call, ...(compensate ? [compensate] : [])]
      const onRecord = ops.some((o) => o.op.on === 'record')
      if (onRecord && step.id === undefined)
        add(
          stepAt(),
          `step ${step.name}: ${ops.find((o) => o.op.on === 'record')!.op.name} acts on one record, and the step has no id`,
          `add id: input.<field> (or steps.<step>.id): the id of the ${ops[0]!.callee.resource} record`,
          true,
        )
      if (!onRecord && step.id !== undefined)
        add(
          stepAt('id'),
          `step ${step.name}: ${call.op.name} acts on the collection and takes no id`,
          'remove id',
        )

      const earlier = new Map(steps.map((s) => [s.name, s]))
      const source = (expr: string, path: (string | number)[]) =>
        resolveSource(
          expr,
          saga.owner,
          services,
          earlier,
          saga.steps.map((s) => s.name),
          step.name,
          (m, h) => add(path, m, h),
        )
      if (step.id !== undefined) {
        const s = source(step.id, stepAt('id'))
        if (s && !fitsType(s.type, { kind: 'string' }))
          add(stepAt('id'), `id ${step.id} is ${describeType(s.type)}, and a record id is a string`)
        else if (s && !s.present)
          add(
            stepAt('id'),
            `id ${step.id} may be absent`,
            `make it required, or map the id from another field`,
          )
      }

      const mapping = step.input ?? {}
      const targets = new Map<string, { field: FieldSpec; op: string }[]>()
      for (const o of ops)
        for (const f of o.op.input)
          targets.set(f.name, [...(targets.get(f.name) ?? []), { field: f, op: o.op.name }])
      for (const [field, expr] of Object.entries(mapping)) {
        const path = stepAt('input', field)
        const wanted = targets.get(field)
        if (!wanted) {
          const known = [...targets.keys()]
          add(
            stepAt('input', field),
            `${call.op.name}${compensate ? ` and ${compensate.op.name} take` : ' takes'} no field ${field}`,
            `its input: ${listOr(known, 'none')}`,
            true,
          )
          continue
        }
        const s = source(String(expr), path)
        if (!s) continue
        const misfit = wanted.filter((w) => !fitsType(s.type, w.field.type))
        const absent = wanted.filter((w) => w.field.required && !s.present)
        const whose = (ws: typeof wanted) => ws.map((w) => `${w.op}'s`).join(' and ')
        if (misfit.length)
          add(
            path,
            `${expr} is ${describeType(s.type)}, and ${whose(misfit)} ${field} is ${describeType(misfit[0]!.field.type)}`,
            'map a field of the same type',
          )
        else if (absent.length)
          add(
            path,
            `${expr} may be absent, and ${whose(absent)} ${field} is required`,
            'make the source field required or give it a default',
          )
      }
      const missing = ops.flatMap((o) =>
        o.op.input.filter((f) => f.required && !(f.name in mapping)).map((f) => `${o.op.name}'s ${f.name}`),
      )
      if (missing.length)
        add(
          stepAt(step.input ? 'input' : 'call'),
          `step ${step.name} leaves ${[...new Set(missing)].join(', ')} unmapped`,
          'map each required field: input: { <field>: input.<field> }',
          step.input !== undefined,
        )

      for (const o of ops) if (o.ref.service !== saga.owner) ownerCalls.add(o.ref.service)
      steps.push({
        name: step.name,
        call: call.ref,
        ...(compensate ? { compensate: compensate.ref } : {}),
        ...(step.id !== undefined ? { id: step.id } : {}),
        input: { ...mapping },
        timeout: step.timeout ?? SAGA_DEFAULTS.timeout,
        retries: step.retries ?? SAGA_DEFAULTS.retries,
        local: call.ref.service === saga.owner,
      })
    })

    for (const callee of ownerCalls) edges.push({ saga: name, owner: saga.owner, callee })
    if (problems.length > before) continue
    sagas[name] = { name, owner: saga.owner, trigger, wait: saga.wait ?? SAGA_DEFAULTS.wait, steps }
  }

  // a callee that calls the owner back (directly, or through another saga's calls) makes a cycle
  const graph = new Map(Object.entries(services).map(([n, s]) => [n, new Set(s.calls)]))
  for (const e of edges) graph.get(e.owner)?.add(e.callee)
  for (const e of edges) {
    const back = pathTo(graph, e.callee, e.owner)
    if (!back) continue
    const i = raw[e.saga]!.steps.findIndex((s) => parseRef(s.call)?.service === e.callee)
    const path = ['sagas', e.saga, 'steps', Math.max(i, 0), i < 0 ? 'compensate' : 'call']
    problems.push({
      path,
      message: `saga ${e.saga}: ${e.owner} would call ${e.callee}, and ${back.join(' -> ')} calls back: a cycle`,
      hint: `a callee of the saga cannot call its owner: tell ${e.owner} with an event instead`,
    })
    delete sagas[e.saga]
  }
  for (const saga of Object.values(sagas)) {
    const remote = saga.steps.flatMap((s) => [s.call, ...(s.compensate ? [s.compensate] : [])])
    const callees = remote.map((r) => r.service).filter((n) => n !== saga.owner)
    calls.set(saga.owner, [...new Set([...(calls.get(saga.owner) ?? []), ...callees])].sort())
  }
  return { sagas, problems, calls }
}

/**
 * The type of a mapping's source, `input.<path>` (the owner's record) or `steps.<step>.<path>` (the
 * record an earlier step's operation answered), and whether it is always present; a problem
 * reported through `report` when it names nothing that will be there.
 */
function resolveSource(
  expr: string,
  owner: string,
  services: Record<string, ServiceSpec>,
  earlier: Map<string, SagaStepSpec>,
  allSteps: string[],
  self: string,
  report: (message: string, hint?: string) => void,
): { type: FieldType; present: boolean } | undefined {
  const parts = expr.trim().split('.')
  let fields: readonly FieldSpec[]
  let rest: string[]
  let what: string
  if (parts[0] === 'input' && parts.length >= 2) {
    fields = recordFields(services[owner]!)
    rest = parts.slice(1)
    what = `${owner}'s record`
  } else if (parts[0] === 'steps' && parts.length >= 3) {
    const stepName = parts[1]!
    const step = earlier.get(stepName)
    if (!step) {
      if (stepName === self)
        report(`${expr}: step ${self} cannot map its own answer`, 'map from an earlier step')
      else if (allSteps.includes(stepName))
        report(`${expr}: step ${stepName} runs after ${self}`, 'map only from earlier steps')
      else
        report(
          `${expr}: there is no step ${stepName}`,
          `steps so far: ${listOr([...earlier.keys()], 'none')}`,
        )
      return undefined
    }
    const callee = services[step.call.service]!
    const op = callee.operations!.find((o) => o.name === step.call.operation)!
    if (op.on === 'collection') {
      report(
        `${expr}: ${step.call.operation} acts on the collection and answers a list, not a record`,
        'map from a step whose operation acts on one record',
      )
      return undefined
    }
    fields = recordFields(callee)
    rest = parts.slice(2)
    what = `a ${callee.resource} record`
  } else {
    report(`"${expr}" is not a source`, 'write input.<field> (the saga input) or steps.<step>.<field>')
    return undefined
  }
  let present = true
  let type: FieldType | undefined
  for (const name of rest) {
    const f = fields.find((x) => x.name === name)
    if (!f) {
      report(`${expr}: ${what} has no field ${name}`, `its fields: ${fields.map((x) => x.name).join(', ')}`)
      return undefined
    }
    present &&= alwaysPresent(f)
    type = f.type
    fields = f.type.kind === 'object' ? f.type.fields : []
    what = `${name}`
  }
  return { type: type!, present }
}

/** A path of calls from `from` to `to` ([from, ..., to]), or undefined. */
function pathTo(graph: Map<string, Set<string>>, from: string, to: string): string[] | undefined {
  const seen = new Set<string>()
  const walk = (name: string): string[] | undefined => {
    if (name === to) return [name]
    if (seen.has(name)) return undefined
    seen.add(name)
    for (const next of graph.get(name) ?? []) {
      const rest = walk(next)
      if (rest) return [name, ...rest]
    }
    return undefined
  }
  return walk(from)
}
