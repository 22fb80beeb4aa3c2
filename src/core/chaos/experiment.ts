import type { ErrorObject } from 'ajv'
import type { Workspace } from '../workspace/model.js'
import { hintKnown } from '../workspace/parse.js'
import {
  dedupeProblems,
  errorPath,
  readYaml,
  schemaProblem,
  type Locate,
  type Problem,
  type YamlPath,
} from '../yaml-problems.js'
import {
  type FAULT_KINDS,
  isLastingFault,
  faultInput,
  parseFaultSpec,
  type FaultSpec,
  type ReplicaSelection,
} from './faults.js'
import { parseThreshold, type Threshold } from './load-probe.js'
import { parseComparison, parseSeriesSelector, type Comparison, type SeriesSelector } from './metrics.js'
import { parseJsonPath, type PathStep } from '../loadtest/json-path.js'
import { durationMs } from './units.js'
import validateExperiment from './validate-experiment.gen.js'

export type ProbeSpec =
  | {
      type: 'http'
      name: string
      service?: string
      url?: string
      path: string
      method: 'GET' | 'HEAD' | 'POST'
      expect: number[]
      maxLatencyMs?: number
      timeoutMs: number
      /** the number this probe gives (a JSON path into the answer), which others may name as @name */
      value?: { path: PathStep[]; text: string }
      /** what that number must be */
      is?: Comparison
    }
  | {
      type: 'metric'
      name: string
      service: string
      path: string
      series: SeriesSelector
      expect: Comparison
    }
  | {
      type: 'load'
      name: string
      service: string
      path: string
      method: 'GET' | 'POST'
      /** a POST's JSON body */
      body?: string
      /** the statuses that count as answered well (default 200-399) */
      expect?: number[]
      rate: number
      durationMs: number
      thresholds: Threshold[]
    }

export interface FaultStep {
  type: 'fault'
  atMs: number
  service: string
  spec: FaultSpec
  forMs?: number
  selection: ReplicaSelection
}

export interface ProbeStep {
  type: 'probe'
  atMs: number
  probe: ProbeSpec
  /** retry until it passes, for up to this long */
  withinMs?: number
}

export type MethodStep = FaultStep | ProbeStep

import type { ROLLBACK_ACTIONS } from './experiment-schema.js'
export interface Rollback {
  action: (typeof ROLLBACK_ACTIONS)[number]
  service: string
  timeoutMs: number
}

export interface Experiment {
  title: string
  description?: string
  hypothesis: ProbeSpec[]
  method: MethodStep[]
  rollbacks: Rollback[]
  recoveryTimeoutMs: number
}

// compiled from EXPERIMENT_SCHEMA ahead of time (npm run gen:validators): no ajv at run time
const validateShape = validateExperiment as ((data: unknown) => boolean) & { errors?: ErrorObject[] | null }

/** Fields of a method step that belong to one fault only. */
const FAULT_FIELDS: Record<string, string[]> = {
  signal: ['kill'],
  delay: ['latency'],
  jitter: ['latency'],
  percent: ['loss'],
  rate: ['bandwidth'],
  from: ['partition'],
}

/** The step field that holds each fault's main value. */
const VALUE_FIELD = { latency: 'delay', loss: 'percent', bandwidth: 'rate' } as const

export type ExperimentResult = { ok: true; experiment: Experiment } | { ok: false; problems: Problem[] }

/** Parses and validates an experiment against the workspace; problems carry line and column. */
export function parseExperiment(text: string, ws: Workspace): ExperimentResult {
  const read = readYaml(text)
  if (!read.ok) return read
  const { data, at } = read
  if (!validateShape(data)) {
    const problems = (validateShape.errors ?? [])
      .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if')
      .map((e) => toProblem(e, at))
    return { ok: false, problems: dedupeProblems(problems) }
  }
  const problems: Problem[] = []
  const add = (path: YamlPath, message: string, hint?: string, key = false) =>
    problems.push({ ...at(path, key), field: path.join('.'), message, ...(hint ? { hint } : {}) })
  const raw = data as RawExperiment
  const known = Object.keys(ws.services)
  const service = (path: YamlPath, name: string | undefined): string => {
    if (name !== undefined && !ws.services[name]) add(path, `unknown service "${name}"`, hintKnown(known))
    return name ?? ''
  }
  const duration = (path: YamlPath, v: string | number | undefined, fallback?: number): number => {
    if (v === undefined) return fallback ?? 0
    const ms = durationMs(v)
    if (ms === undefined) {
      add(path, `"${v}" is not a duration`, 'for example 500ms, 10s or 2m')
      return 0
    }
    return ms
  }
  const comparison = (path: YamlPath, v: string | number): Comparison | undefined => {
    const c = parseComparison(v)
    if (!c)
      add(
        path,
        `"${v}" is not a comparison`,
        "for example '== 1', '< 0.5' or '== @captured - @refunded' (another probe's value)",
      )
    return c
  }
  /** `inMethod`: a step of the method, which runs while faults are in force (a load probe's phases) */
  const probe = (path: YamlPath, p: RawProbe, inMethod = false): ProbeSpec => {
    const kinds = (['http', 'metric', 'load'] as const).filter((k) => p[k] !== undefined)
    if (kinds.length !== 1) {
      add(
        path,
        kinds.length
          ? `a probe has one of http, metric or load, not ${kinds.join(' and ')}`
          : 'a probe needs http, metric or load',
        'see docs/chaos.md#probes',
      )
      return { type: 'http', name: '?', path: '/', method: 'GET', expect: [200], timeoutMs: 0 }
    }
    if (p.http) {
      const h = p.http
      const hp = [...path, 'http']
      if (!h.url && !h.service) add(hp, 'an http probe needs a service (and path) or a url')
      if (h.url && !/^https?:\/\//.test(h.url)) add([...hp, 'url'], `url "${h.url}" is not an http(s) URL`)
      const expect = h.expect === undefined ? [200] : Array.isArray(h.expect) ? h.expect : [h.expect]
      const maxLatencyMs =
        h.maxLatency !== undefined ? duration([...hp, 'maxLatency'], h.maxLatency) : undefined
      const target = h.url ?? `${service([...hp, 'service'], h.service)} ${h.path ?? '/health/ready'}`
      let value: { path: PathStep[]; text: string } | undefined
      if (h.value !== undefined)
        try {
          value = { path: parseJsonPath(h.value), text: h.value }
        } catch (e) {
          add([...hp, 'value'], (e as Error).message, 'a JSON path into the answer, for example $.count')
        }
      const is = h.is === undefined ? undefined : comparison([...hp, 'is'], h.is)
      if (is && !value)
        add([...hp, 'is'], '"is" compares the probe\'s value: give "value" too', 'value: $.count')
      return {
        type: 'http',
        name: p.name ?? `${h.method ?? 'GET'} ${target}`,
        ...(h.service ? { service: h.service } : {}),
        ...(h.url ? { url: h.url } : {}),
        path: h.path ?? '/health/ready',
        method: h.method ?? 'GET',
        expect,
        ...(maxLatencyMs !== undefined ? { maxLatencyMs } : {}),
        timeoutMs: duration([...hp, 'timeout'], h.timeout, 5000),
        ...(value ? { value } : {}),
        ...(is ? { is } : {}),
      }
    }
    if (p.metric) {
      const m = p.metric
      const mp = [...path, 'metric']
      const series = parseSeriesSelector(m.series)
      if (!series)
        add(
          [...mp, 'series'],
          `"${m.series}" is not a series`,
          'for example circuit_breaker_state{target="payment"}',
        )
      const expect = comparison([...mp, 'expect'], m.expect)
      return {
        type: 'metric',
        name:
          p.name ?? `${m.service} ${m.series} ${typeof m.expect === 'number' ? `== ${m.expect}` : m.expect}`,
        service: service([...mp, 'service'], m.service),
        path: m.path ?? '/metrics',
        series: series ?? { name: '', labels: {} },
        expect: expect ?? { op: '==', value: 0 },
      }
    }
    const l = p.load!
    const lp = [...path, 'load']
    const thresholds = (l.thresholds ?? []).map((t, i) => {
      const th = parseThreshold(t)
      if (!th)
        add(
          [...lp, 'thresholds', i],
          `"${t}" is not a threshold`,
          'for example p99<300ms, errors<1%, or in the method fault:errors<5%',
        )
      else if (th.phase && !inMethod)
        add(
          [...lp, 'thresholds', i],
          `"${t}" judges a phase of faults, and the steady state is checked with none in force`,
          'move this load probe into the method (a probe step at: 0s), where it runs during the faults',
        )
      return th!
    })
    if (l.body !== undefined && l.method !== 'POST')
      add([...lp, 'body'], 'a body is sent with method: POST only', 'method: POST')
    return {
      type: 'load',
      name: p.name ?? `load ${l.service} ${l.rate}/s for ${l.duration}`,
      service: service([...lp, 'service'], l.service),
      path: l.path ?? '/health/ready',
      method: l.method ?? 'GET',
      ...(l.body !== undefined ? { body: typeof l.body === 'string' ? l.body : JSON.stringify(l.body) } : {}),
      ...(l.expect !== undefined ? { expect: Array.isArray(l.expect) ? l.expect : [l.expect] } : {}),
      rate: l.rate,
      durationMs: duration([...lp, 'duration'], l.duration),
      thresholds: thresholds.filter(Boolean),
    }
  }
  const hypothesis = raw.hypothesis.map((p, i) => probe(['hypothesis', i], p))
  checkReferences(hypothesis, add)
  const method: MethodStep[] = raw.method.map((s, i): MethodStep => {
    const path = ['method', i]
    const atMs = duration([...path, 'at'], s.at)
    if (s.fault && s.probe) add(path, 'a step is a fault or a probe, not both')
    if (s.probe) {
      for (const k of Object.keys(s).filter((k) => !['at', 'probe', 'within'].includes(k)))
        add(
          [...path, k],
          `"${k}" does not apply to a probe step`,
          'a probe step has at, probe and within',
          true,
        )
      const p = probe([...path, 'probe'], s.probe, true)
      // a method's probe may name the hypothesis's probes: their values before the method
      checkReferences([...hypothesis, p], add, [...path, 'probe'])
      return {
        type: 'probe',
        atMs,
        probe: p,
        ...(s.within !== undefined ? { withinMs: duration([...path, 'within'], s.within) } : {}),
      }
    }
    if (!s.fault) {
      add(path, 'a step needs a fault (kill, latency, ...) or a probe')
      return { type: 'probe', atMs, probe: hypothesis[0]! }
    }
    const kind = s.fault
    if (!s.service) add(path, `the ${kind} step needs a service`, hintKnown(known))
    const name = service([...path, 'service'], s.service)
    for (const [field, kinds] of Object.entries(FAULT_FIELDS))
      if ((s as Record<string, unknown>)[field] !== undefined && !kinds.includes(kind))
        add(
          [...path, field],
          `"${field}" does not apply to ${kind}`,
          `it belongs to ${kinds.join(', ')}`,
          true,
        )
    if (s.within !== undefined)
      add([...path, 'within'], '"within" applies to probe steps only', undefined, true)
    if (s.for !== undefined && !isLastingFault(kind))
      add(
        [...path, 'for'],
        `${kind} happens once; "for" does not apply`,
        'use stop or pause to hold a service down',
      )
    if (s.from !== undefined) service([...path, 'from'], s.from)
    let spec: FaultSpec = { kind: 'stop' }
    const value =
      kind === 'latency' ? s.delay : kind === 'loss' ? s.percent : kind === 'bandwidth' ? s.rate : undefined
    const parsed = parseFaultSpec(
      faultInput(kind, { value, jitter: s.jitter, signal: s.signal, from: s.from }),
    )
    if (parsed.ok) spec = parsed.spec
    else {
      // the file's own words: the problem at its field, or at the step when the value is missing
      const p = parsed.problem
      const field = p.field === 'value' ? VALUE_FIELD[kind as keyof typeof VALUE_FIELD] : p.field
      if (p.missing) add(path, `${kind} ${p.text}`, `set ${field}: (${p.hint})`)
      else add([...path, field!], `${field} ${p.text}`, p.hint)
    }
    return {
      type: 'fault',
      atMs,
      service: name,
      spec,
      ...(s.for !== undefined ? { forMs: duration([...path, 'for'], s.for) } : {}),
      selection: {
        ...(s.replica !== undefined ? { replica: s.replica } : {}),
        ...(s.all ? { all: true } : {}),
      },
    }
  })
  const rollbacks = (raw.rollbacks ?? []).map((r, i) => ({
    action: r.action,
    service: service(['rollbacks', i, 'service'], r.service),
    timeoutMs: duration(['rollbacks', i, 'timeout'], r.timeout, 60_000),
  }))
  const recoveryTimeoutMs = duration(['settings', 'recoveryTimeout'], raw.settings?.recoveryTimeout, 60_000)
  if (problems.length) return { ok: false, problems }
  return {
    ok: true,
    experiment: {
      title: raw.title ?? 'untitled experiment',
      ...(raw.description ? { description: raw.description } : {}),
      hypothesis,
      method: method.sort((a, b) => a.atMs - b.atMs),
      rollbacks,
      recoveryTimeoutMs,
    },
  }
}

/** The probes a probe's comparison names (`@captured`). */
const refsOf = (p: ProbeSpec): string[] =>
  ((p.type === 'http' ? p.is : p.type === 'metric' ? p.expect : undefined)?.refs ?? []).map((r) => r.name)

/**
 * A hypothesis's probes run in order, so a comparison may name a probe listed before it that gives
 * a number (an http probe with `value`, or a metric probe), by a name no other probe has. A
 * method's probe is checked as the last of `probes` (the hypothesis, then it), at `at`.
 */
function checkReferences(
  probes: ProbeSpec[],
  add: (path: YamlPath, message: string, hint?: string) => void,
  at?: YamlPath,
) {
  probes.forEach((p, i) => {
    if (at && i < probes.length - 1) return
    for (const name of refsOf(p)) {
      const earlier = probes.slice(0, i).filter((q) => q.name === name)
      const path = [...(at ?? ['hypothesis', i]), p.type, p.type === 'http' ? 'is' : 'expect']
      const numbers = probes
        .slice(0, i)
        .filter((q) => (q.type === 'http' && q.value) || q.type === 'metric')
        .map((q) => q.name)
      if (earlier.length === 0)
        add(
          path,
          `no probe before this one is named "${name}"`,
          numbers.length ? `probes before it with a value: ${numbers.join(', ')}` : 'name an earlier probe',
        )
      else if (probes.filter((q) => q.name === name).length > 1)
        add(path, `more than one probe is named "${name}"`, 'give each probe its own name')
      else if (!numbers.includes(name))
        add(path, `probe "${name}" gives no number`, 'an http probe with value: $.count, or a metric probe')
    }
  })
}

/** When the method ends: the last step's start plus its duration. */
export function methodDurationMs(e: Experiment): number {
  return Math.max(
    0,
    ...e.method.map((s) =>
      s.type === 'fault'
        ? s.atMs + (s.forMs ?? 0)
        : s.atMs + (s.withinMs ?? 0) + (s.probe.type === 'load' ? s.probe.durationMs : 0),
    ),
  )
}

interface RawProbe {
  name?: string
  http?: {
    service?: string
    url?: string
    path?: string
    method?: 'GET' | 'HEAD' | 'POST'
    expect?: number | number[]
    maxLatency?: string
    timeout?: string
    value?: string
    is?: string | number
  }
  metric?: { service: string; path?: string; series: string; expect: string | number }
  load?: {
    service: string
    path?: string
    method?: 'GET' | 'POST'
    body?: string | Record<string, unknown>
    expect?: number | number[]
    rate: number
    duration: string
    thresholds?: string[]
  }
}
interface RawExperiment {
  title?: string
  description?: string
  hypothesis: RawProbe[]
  method: {
    at: string | number
    fault?: (typeof FAULT_KINDS)[number]
    service?: string
    for?: string
    signal?: string
    delay?: string
    jitter?: string
    percent?: string
    rate?: string
    from?: string
    replica?: number
    all?: boolean
    probe?: RawProbe
    within?: string
  }[]
  rollbacks?: { action: Rollback['action']; service: string; timeout?: string }[]
  settings?: { recoveryTimeout?: string }
}

function toProblem(e: ErrorObject, at: Locate): Problem {
  const path = errorPath(e)
  const field = path.join('.')
  const where = field || 'the experiment'
  switch (e.keyword) {
    case 'enum':
      return {
        ...at(path),
        field,
        message: `${where} must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`,
      }
    case 'minItems':
      return {
        ...at(path, true),
        field,
        message: `${where} needs at least ${String(e.params.limit)} entr${e.params.limit === 1 ? 'y' : 'ies'}`,
      }
    default:
      return schemaProblem(e, at, 'the experiment')
  }
}
