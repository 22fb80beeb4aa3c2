/**
 * Flows of a scenario (`flows:`): ordered HTTP requests, each sent when the one before it has
 * answered, whose `capture:` takes values from an answer into variables that the later steps of
 * the same iteration use as `{{name}}`, and whose `check:` compares values of an answer with what
 * is expected (capture.ts). A flow is picked like a weighted request; what one iteration does is
 * decided here (`stepOutcome`), the load generator only sends and reads. Pure.
 */
import {
  parseCaptures,
  parseChecks,
  readAnswer,
  type AnswerView,
  type Capture,
  type Check,
} from './capture.js'
import {
  PLACEHOLDER_NAMES,
  compileRequest,
  isExpected,
  type CompiledRequest,
  type RequestSpec,
} from './request.js'

/** One step of a flow: a request, what it captures, what it checks. */
export interface FlowStepSpec extends RequestSpec {
  captures: Capture[]
  checks: Check[]
}

export interface FlowSpec {
  name: string
  /** how often the flow is picked, against the weighted requests and the other flows */
  weight: number
  steps: FlowStepSpec[]
}

/** A scenario problem with its hint (the first one found is what the user sees). */
export interface FlowProblem {
  message: string
  hint?: string
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)

const FLOW_KEYS = ['name', 'weight', 'steps']
const STEP_KEYS = ['name', 'method', 'path', 'headers', 'body', 'expect', 'capture', 'check']

export const FLOW_HINTS = {
  shape:
    'a flow is { name: checkout, weight: 1, steps: [{ method: POST, path: /orders, capture: { id: $.id } }, { path: "/orders/{{id}}" }] }',
  variable:
    'a step may use the variables the steps before it capture (capture: { id: $.id }), and {{seq}}, {{uuid}}, {{now}}, {{randomInt 1 100}}',
  path: "capture: { name: source } and check: { source: value }, where a name is letters, digits and _ (no placeholder's) and a source a JSON path ($.id, $.items[0].sku, $['a b']) or header:location",
  clash: 'give each variable of a flow its own name (capture: { orderId: $.id })',
  grpc: 'flows send HTTP requests only for now; keep gRPC calls in requests:',
} as const

/**
 * The `flows:` of a scenario. `parseRequest` reads a step's request as a weighted request is read
 * (scenario.ts), with the variables captured before it; problems go to `problems` with a hint.
 */
export function parseFlows(
  v: unknown,
  parseRequest: (
    r: Obj,
    at: string,
    problems: string[],
    vars: ReadonlySet<string>,
    templateProblems: string[],
  ) => RequestSpec,
  problems: FlowProblem[],
): FlowSpec[] {
  if (!Array.isArray(v)) {
    problems.push({ message: 'flows: a list of flows', hint: FLOW_HINTS.shape })
    return []
  }
  const flows: FlowSpec[] = []
  const names = new Set<string>()
  v.forEach((f, i) => {
    const at = `flows[${i}]`
    if (!isObj(f)) return problems.push({ message: `${at}: a mapping with steps:`, hint: FLOW_HINTS.shape })
    for (const k of Object.keys(f))
      if (!FLOW_KEYS.includes(k))
        problems.push({
          message: `${at}.${k}: unknown key (known: ${FLOW_KEYS.join(', ')})`,
          hint: FLOW_HINTS.shape,
        })
    const name = typeof f.name === 'string' && f.name ? f.name : `flow ${i + 1}`
    if (names.has(name))
      problems.push({
        message: `${at}.name: "${name}" names another flow too`,
        hint: 'give each flow its own name',
      })
    names.add(name)
    const weight = f.weight === undefined ? 1 : Number(f.weight)
    if (!(weight > 0)) problems.push({ message: `${at}.weight: a positive number` })
    if (!Array.isArray(f.steps) || !f.steps.length) {
      problems.push({ message: `${at}.steps: a flow needs at least one step`, hint: FLOW_HINTS.shape })
      return
    }
    /** variables captured so far in this flow, and by which step */
    const captured = new Map<string, string>()
    const steps: FlowStepSpec[] = []
    f.steps.forEach((s, j) => {
      const sat = `${at}.steps[${j}]`
      if (!isObj(s))
        return problems.push({ message: `${sat}: a mapping with method and path`, hint: FLOW_HINTS.shape })
      if (s.grpc !== undefined)
        return problems.push({
          message: `${sat}.grpc: a flow step is an HTTP request`,
          hint: FLOW_HINTS.grpc,
        })
      for (const k of Object.keys(s))
        if (!STEP_KEYS.includes(k))
          problems.push({
            message: `${sat}.${k}: unknown key (known: ${STEP_KEYS.join(', ')})`,
            hint: FLOW_HINTS.shape,
          })
      const vars = new Set(captured.keys())
      const other: string[] = []
      const templates: string[] = []
      const request = parseRequest({ ...s, weight: 1 }, sat, other, vars, templates)
      for (const message of other) problems.push({ message, hint: FLOW_HINTS.shape })
      for (const message of templates) problems.push({ message, hint: FLOW_HINTS.variable })
      const pathProblems: string[] = []
      const captures =
        s.capture === undefined ? [] : parseCaptures(s.capture, sat, pathProblems, PLACEHOLDER_NAMES)
      const checks = s.check === undefined ? [] : parseChecks(s.check, sat, pathProblems)
      for (const message of pathProblems) problems.push({ message, hint: FLOW_HINTS.path })
      for (const c of captures) {
        const by = captured.get(c.name)
        if (by !== undefined)
          problems.push({
            message: `${sat}.capture.${c.name}: ${by} captures ${c.name} already`,
            hint: FLOW_HINTS.clash,
          })
        else captured.set(c.name, `steps[${j}]`)
      }
      steps.push({ ...request, captures, checks })
    })
    flows.push({ name, weight, steps })
  })
  return flows
}

/** The name of a step in reports: `checkout › create`. */
export const stepName = (flow: FlowSpec, step: FlowStepSpec): string => `${flow.name} › ${step.name}`

/** A step ready to send: its request compiled with the variables captured before it. */
export interface CompiledStep {
  request: CompiledRequest
  captures: Capture[]
  checks: Check[]
  /** its answer's headers and body are needed (it captures or checks) */
  keeps: boolean
}

/** A flow ready to send. */
export interface CompiledFlow {
  spec: FlowSpec
  steps: CompiledStep[]
}

/** Compiles every step of `flow` for `host` (the Host header); throws on a bad placeholder. */
export function compileFlow(flow: FlowSpec, host: string): CompiledFlow {
  const vars = new Set<string>()
  const steps = flow.steps.map((s) => {
    const { captures, checks, ...spec } = s
    const request = compileRequest({ ...spec, name: stepName(flow, s) }, host, new Set(vars))
    for (const c of captures) vars.add(c.name)
    return { request, captures, checks, keeps: captures.length > 0 || checks.length > 0 }
  })
  return { spec: flow, steps }
}

/** What an answered step means for its iteration. */
export interface StepOutcome {
  /** the step counts as an error (an unexpected status, a failed check, a missing capture) */
  failed: boolean
  /** the iteration stops here: the rest of the flow is not sent (and why) */
  stop?: string
  /** the step's checks were judged (its answer came with an expected status) */
  checked: boolean
  /** the checks that failed, by index into the step's checks */
  failedChecks: number[]
  /** the variables the answer gave */
  vars?: Record<string, string>
}

/**
 * An answered step: a missing answer or an unexpected status stops the iteration (the later steps
 * would act on a state the flow did not reach), as does a capture the answer cannot give; failed
 * checks count as errors and the iteration goes on, as k6's checks do.
 */
export function stepOutcome(step: CompiledStep, status: number, answer: AnswerView | undefined): StepOutcome {
  if (status === 0) return { failed: true, stop: 'no answer', checked: false, failedChecks: [] }
  if (!isExpected(status, step.request.spec.expect))
    return { failed: true, stop: `status ${status} not expected`, checked: false, failedChecks: [] }
  if (!step.keeps) return { failed: false, checked: false, failedChecks: [] }
  const got = readAnswer(answer ?? { header: () => undefined, body: '' }, step.captures, step.checks)
  const failed = got.passed.flatMap((ok, i) => (ok ? [] : [i]))
  if ('problem' in got) return { failed: true, stop: got.problem, checked: true, failedChecks: failed }
  return { failed: failed.length > 0, checked: true, failedChecks: failed, vars: got.vars }
}

/** `$.status = "confirmed"`: a check as reports name it. */
export const checkName = (c: Check): string => `${c.from.text} = ${JSON.stringify(c.expected)}`
