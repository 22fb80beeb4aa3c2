/**
 * What the owner of a saga generates (docs/sagas.md, "Generated"): src/sagas.ts with each saga as
 * a `defineSaga` of the kit, its steps calling the callees' operations through the generated gRPC
 * client (when the callee serves gRPC) or the kit's HTTP ServiceClient, each call carrying its
 * idempotency key and the step's timeout, and the owner's own operations run in process.
 */
import { parseDuration } from '../chaos/units.js'
import type { Workspace } from '../workspace/model.js'
import type { OperationRef, SagaSpec, SagaStepSpec } from '../workspace/sagas.js'
import { toCamelCase, toPascalCase, toSingular } from '../workspace/names.js'
import { toEntityVars } from './entity-vars.js'

/** `input.sku` → `ctx.input.sku`; `steps.charge.id` → `output(ctx, 'charge').id`. */
export function sagaExpression(expr: string): string {
  const [head, ...rest] = expr.trim().split('.')
  if (head === 'input') return ['ctx.input', ...rest].join('.')
  if (head === 'steps' && rest.length >= 2) {
    const [step, ...path] = rest
    return [`output(ctx, '${step}')`, ...path].join('.')
  }
  throw new Error(`not a saga expression: ${expr}`)
}

/**
 * The request of an operation's call, its id (record operations) and its mapped input, as
 * `const <name> = ...` on lines of their own (prettier keeps an object broken as it is written).
 */
const requestDecl = (name: string, step: SagaStepSpec, withId: boolean): string => {
  const entries = [
    ...(withId && step.id ? [`id: ${sagaExpression(step.id)}`] : []),
    ...Object.entries(step.input).map(([k, v]) => `${k}: ${sagaExpression(v)}`),
  ]
  if (entries.length === 0) return `const ${name} = {}`
  return `const ${name} = {\n${entries.map((e) => `            ${e},`).join('\n')}\n          }`
}

/** `deps.http.payment!`, or `deps.http['payment-eu']!` for a name that is no identifier. */
const member = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `['${name}']`)

/** One call (or compensation) of a step, as the arrow function `defineSaga` takes. */
function callTs(
  ws: Workspace,
  owner: string,
  step: SagaStepSpec,
  ref: OperationRef,
  timeoutMs: number,
): string {
  const callee = ws.services[ref.service]!
  const op = toEntityVars(callee).operations.find((o) => o.name === ref.operation)!
  const block = (lines: string[]) =>
    `async (ctx) => {\n${lines.map((l) => `          ${l}`).join('\n')}\n        }`
  if (ref.service === owner) {
    // the owner's own operation, in the step's transaction (the repository joins it)
    const args = op.record ? `${sagaExpression(step.id!)}, input` : 'input'
    return block([requestDecl('input', step, false), `return deps.service.${op.name}(${args})`])
  }
  if (callee.capabilities.includes('grpc')) {
    const field = op.record ? toCamelCase(toSingular(callee.resource)) : toCamelCase(callee.resource)
    const client = `deps.grpc.${toCamelCase(ref.service)}`
    return block([
      requestDecl('request', step, true),
      `const options = grpcOptions(ctx, ${timeoutMs})`,
      `return (await ${client}.${op.methodCamel}(request, options)).${field}`,
    ])
  }
  const path = op.record
    ? `\`/${callee.resource}/\${${sagaExpression(step.id!)}}/${op.kebab}\``
    : `'/${callee.resource}/${op.kebab}'`
  return block([
    requestDecl('body', step, false),
    `return post(deps.http${member(ref.service)}!, ${path}, body, ctx, ${timeoutMs})`,
  ])
}

function stepTs(ws: Workspace, saga: SagaSpec, step: SagaStepSpec): string {
  const timeoutMs = parseDuration(step.timeout) ?? 5000
  const lines = [
    `name: '${step.name}'`,
    ...(step.local ? ['local: true'] : []),
    `timeoutMs: ${timeoutMs}`,
    ...(step.retries ? [`retries: ${step.retries}`] : []),
    `call: ${callTs(ws, saga.owner, step, step.call, timeoutMs)}`,
    ...(step.compensate ? [`compensate: ${callTs(ws, saga.owner, step, step.compensate, timeoutMs)}`] : []),
  ]
  return `      {\n${lines.map((l) => `        ${l},`).join('\n')}\n      }`
}

/** What src/sagas.ts.hbs sees of the sagas the service owns (false when it owns none). */
export function toSagaVars(ws: Workspace, service: string) {
  const owned = Object.values(ws.sagas ?? {}).filter((s) => s.owner === service)
  if (owned.length === 0) return false
  const spec = ws.services[service]!
  const Entity = toPascalCase(toSingular(spec.resource))
  const remote = (s: SagaSpec) =>
    s.steps.flatMap((st) => [st.call, st.compensate]).filter((r) => r && r.service !== service)
  const callees = [...new Set(owned.flatMap((s) => remote(s).map((r) => r!.service)))].sort()
  const trigger = owned.find((s) => s.trigger === 'create')
  // what the generated test refuses (the trigger's last remote call), and the compensations it then expects
  const steps = trigger?.steps ?? []
  const lastRemote = steps
    .map((st, i) => [st, i] as const)
    .filter(([st]) => !st.local)
    .at(-1)
  const refuse = lastRemote && {
    step: lastRemote[0].name,
    label: labelOf(ws, lastRemote[0].call),
    compensated: steps
      .slice(0, lastRemote[1])
      .filter((st) => st.compensate)
      .map((st) => st.name)
      .reverse(),
  }
  const ts = (names: string[]) => `[${names.map((n) => `'${n}'`).join(', ')}]`
  return {
    usesGrpc: callees.some((c) => ws.services[c]!.capabilities.includes('grpc')),
    usesHttp: callees.some((c) => !ws.services[c]!.capabilities.includes('grpc')),
    usesOutputs: owned.some((s) =>
      s.steps.some((st) => Object.values(st.input).some((v) => v.startsWith('steps.'))),
    ),
    list: owned.map((s) => ({
      name: s.name,
      variable: toCamelCase(s.name),
      definitionTs: `export const ${toCamelCase(s.name)} = (deps: SagaDeps) =>\n  defineSaga<${Entity}>({\n    name: '${s.name}',\n    steps: [\n${s.steps.map((st) => stepTs(ws, s, st)).join(',\n')},\n    ],\n  })`,
    })),
    /** the saga the create route starts, with how long it waits (ms) */
    trigger: trigger
      ? {
          name: trigger.name,
          variable: toCamelCase(trigger.name),
          waitMs: parseDuration(trigger.wait) ?? 1000,
          stepsTs: ts(trigger.steps.map((st) => st.name)),
          refuse: refuse ? { ...refuse, compensatedTs: ts(refuse.compensated) } : false,
        }
      : false,
    /** the callees, for the test's stand-ins: over gRPC or HTTP */
    callees: callees.map((c) => ({
      name: c,
      camel: toCamelCase(c),
      grpc: ws.services[c]!.capabilities.includes('grpc'),
    })),
  }
}

/** How the generated test's stand-in names a call: `inventory.reserveInventory` (gRPC), `payment /charge` (HTTP). */
function labelOf(ws: Workspace, ref: OperationRef): string {
  const callee = ws.services[ref.service]!
  const op = toEntityVars(callee).operations.find((o) => o.name === ref.operation)!
  return callee.capabilities.includes('grpc')
    ? `${ref.service}.${op.methodCamel}`
    : `${ref.service} /${op.kebab}`
}
