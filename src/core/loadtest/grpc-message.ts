/**
 * A gRPC call resolved against the descriptors the generated clients embed: its method, and its
 * request message compiled from the scenario's template with the types of the proto fields. Pure:
 * the generated code itself is loaded by io/loadtest/grpc-clients.ts.
 */
import {
  create,
  createFileRegistry,
  fromBinary,
  ScalarType,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from '@bufbuild/protobuf'
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt'
import { base64Decode } from '@bufbuild/protobuf/wire'
import type { GrpcCallSpec, GrpcProblem } from './grpc-scenario.js'
import { compileTemplate, type TemplateContext } from './request.js'

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** What the generated client of one workspace service can call: its proto services, from the embedded descriptors. */
export interface GrpcCatalog {
  services: DescService[]
}

/** The catalog from the base64 FileDescriptorProtos that `msvc proto gen` embeds beside each client. */
export function toGrpcCatalog(descriptors: readonly string[]): GrpcCatalog {
  const set = create(FileDescriptorSetSchema, {
    file: descriptors.map((b) => fromBinary(FileDescriptorProtoSchema, base64Decode(b))),
  })
  const reg = createFileRegistry(set)
  const services: DescService[] = []
  for (const f of reg.files) services.push(...f.services)
  return { services }
}

/** A call resolved against the generated client: which factory and method, and its message builder. */
export interface ResolvedGrpcCall {
  /** `createOrderServiceClient` */
  factory: string
  /** `getOrder`: the generated caller's method */
  callerMethod: string
  /** `/shop.order.v1.OrderService/GetOrder`: the HTTP/2 path of the call */
  path: string
  idempotent: boolean
  message: MessageTemplate
}

/** The request message of each call: the same object every time when nothing in it is templated. */
export interface MessageTemplate {
  isStatic: boolean
  render(c: TemplateContext): Record<string, unknown>
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1)

/** Resolves a call's method and message against the service's catalog; problems carry a hint. */
export function resolveGrpcCall(
  spec: GrpcCallSpec,
  catalog: GrpcCatalog,
  at: string,
): { ok: true; call: ResolvedGrpcCall } | { ok: false; problem: GrpcProblem } {
  const cut = Math.max(spec.method.lastIndexOf('/'), spec.method.lastIndexOf('.'))
  const owner = cut >= 0 ? spec.method.slice(0, cut) : undefined
  const name = spec.method.slice(cut + 1)
  const services = catalog.services.filter((s) => !owner || s.name === owner || s.typeName === owner)
  const all = catalog.services.flatMap((s) =>
    s.methods.map((m) => (catalog.services.length > 1 ? `${s.name}.${m.name}` : m.name)),
  )
  const found: { s: DescService; m: DescMethod }[] = []
  for (const s of services) for (const m of s.methods) if (m.name === name) found.push({ s, m })
  if (!found.length)
    return {
      ok: false,
      problem: {
        message: `${at}.grpc.method: ${spec.service} has no method ${spec.method}`,
        hint: all.length
          ? `methods of ${spec.service}: ${all.join(', ')}`
          : `${spec.service}'s protos declare no service`,
      },
    }
  if (found.length > 1)
    return {
      ok: false,
      problem: {
        message: `${at}.grpc.method: ${name} is declared by several services of ${spec.service}`,
        hint: `name one: ${found.map(({ s }) => `${s.name}.${name}`).join(', ')}`,
      },
    }
  const { s, m } = found[0]!
  if (m.methodKind !== 'unary')
    return {
      ok: false,
      problem: {
        message: `${at}.grpc.method: ${s.name}.${m.name} is a ${m.methodKind.replace('_', '-')} method`,
        hint: 'a load scenario sends unary calls only',
      },
    }
  const problems: string[] = []
  const node = compileMessage(spec.message, m.input, `${at}.grpc.message`, problems)
  if (problems.length)
    return {
      ok: false,
      problem: {
        message: problems[0]!,
        hint: `${m.name} takes ${m.input.typeName} (services/${spec.service}/proto)${problems.length > 1 ? `; ${problems.length - 1} more problems in the message` : ''}`,
      },
    }
  const message: MessageTemplate =
    'value' in node
      ? { isStatic: true, render: () => node.value as Record<string, unknown> }
      : { isStatic: false, render: node.render as MessageTemplate['render'] }
  return {
    ok: true,
    call: {
      factory: `create${s.name}Client`,
      callerMethod: lowerFirst(m.name),
      path: `/${s.typeName}/${m.name}`,
      idempotent: m.idempotency === 1 || m.idempotency === 2,
      message,
    },
  }
}

/** A part of a message: a value fixed at load time, or one rendered per call. */
type Node = { value: unknown } | { render: (c: TemplateContext) => unknown }

/** A context for rendering a template once at load time, to check what it yields. */
const SAMPLE: TemplateContext = { seq: 1, random: () => 0.5, nowMs: 1_700_000_000_000 }

/** ts-proto's property name for a field (its `snakeToCamel` on keys). */
export function toTsProtoName(name: string): string {
  if (!name.includes('_')) return name
  const hasLower = /[a-z]/.test(name)
  return name
    .split('_')
    .map((w, i) => {
      const word = hasLower ? w : w.toLowerCase()
      return i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)
    })
    .join('')
}

const INTEGER_SCALARS = new Set([
  ScalarType.INT32,
  ScalarType.UINT32,
  ScalarType.SINT32,
  ScalarType.FIXED32,
  ScalarType.SFIXED32,
  ScalarType.INT64,
  ScalarType.UINT64,
  ScalarType.SINT64,
  ScalarType.FIXED64,
  ScalarType.SFIXED64,
])
const SCALAR_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ScalarType)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [v, k.toLowerCase()]),
)
const WRAPPERS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': ScalarType.DOUBLE,
  'google.protobuf.FloatValue': ScalarType.FLOAT,
  'google.protobuf.Int64Value': ScalarType.INT64,
  'google.protobuf.UInt64Value': ScalarType.UINT64,
  'google.protobuf.Int32Value': ScalarType.INT32,
  'google.protobuf.UInt32Value': ScalarType.UINT32,
  'google.protobuf.BoolValue': ScalarType.BOOL,
  'google.protobuf.StringValue': ScalarType.STRING,
  'google.protobuf.BytesValue': ScalarType.BYTES,
}
/** ts-proto represents these as plain JSON values */
const JSON_TYPES = new Set(['google.protobuf.Struct', 'google.protobuf.Value', 'google.protobuf.ListValue'])
const UNSUPPORTED = new Set(['google.protobuf.FieldMask', 'google.protobuf.Any'])

const enc = new TextEncoder()

/** A leaf: fixed, or rendered per call from a template; `convert` turns text into the field's type. */
function leaf(
  v: unknown,
  at: string,
  problems: string[],
  what: string,
  convert: (text: string) => unknown,
  isValid: (x: unknown) => boolean,
): Node {
  if (typeof v === 'string') {
    const t = compileTemplate(v)
    if (!t.isStatic) {
      const sample = convert(t.render(SAMPLE))
      if (!isValid(sample)) problems.push(`${at}: "${v}" does not give ${what}`)
      return { render: (c) => convert(t.render(c)) }
    }
    const x = convert(v)
    if (!isValid(x)) problems.push(`${at}: "${v}" is not ${what}`)
    return { value: x }
  }
  const x = typeof v === 'number' || typeof v === 'boolean' ? convert(String(v)) : undefined
  if (!isValid(x)) problems.push(`${at}: ${JSON.stringify(v)} is not ${what}`)
  return { value: x }
}

function scalarNode(v: unknown, t: ScalarType, at: string, problems: string[]): Node {
  const name = SCALAR_NAMES[t] ?? 'scalar'
  if (t === ScalarType.STRING)
    return leaf(
      v,
      at,
      problems,
      'a string',
      (s) => s,
      () => true,
    )
  if (t === ScalarType.BOOL)
    return leaf(
      v,
      at,
      problems,
      'a bool (true or false)',
      (s) => (s === 'true' ? true : s === 'false' ? false : undefined),
      (x) => typeof x === 'boolean',
    )
  if (t === ScalarType.BYTES)
    return leaf(
      v,
      at,
      problems,
      'bytes',
      (s) => enc.encode(s),
      () => true,
    )
  const integer = INTEGER_SCALARS.has(t)
  return leaf(
    v,
    at,
    problems,
    integer ? `an integer (${name})` : `a number (${name})`,
    (s) => (s.trim() === '' ? NaN : Number(s)),
    (x) => typeof x === 'number' && Number.isFinite(x) && (!integer || Number.isInteger(x)),
  )
}

function enumNode(
  v: unknown,
  values: { name: string; number: number }[],
  typeName: string,
  at: string,
  problems: string[],
): Node {
  const hint = values.map((x) => x.name).join(', ')
  if (typeof v === 'string' && !compileTemplate(v).isStatic) {
    problems.push(`${at}: placeholders are not allowed in an enum field (${typeName}: ${hint})`)
    return { value: 0 }
  }
  const byName = values.find((x) => x.name === v)
  if (byName) return { value: byName.number }
  if (typeof v === 'number' && Number.isInteger(v)) return { value: v }
  problems.push(`${at}: ${JSON.stringify(v)} is not a value of ${typeName} (${hint})`)
  return { value: 0 }
}

/** JSON values (Struct and friends) pass through, their strings rendered. */
function jsonNode(v: unknown): Node {
  if (typeof v === 'string') {
    const t = compileTemplate(v)
    return t.isStatic ? { value: v } : { render: (c) => t.render(c) }
  }
  if (Array.isArray(v)) return combine(v.map(jsonNode), (xs) => xs)
  if (isObj(v)) {
    const keys = Object.keys(v)
    return combine(
      keys.map((k) => jsonNode(v[k])),
      (xs) => Object.fromEntries(keys.map((k, i) => [k, xs[i]])),
    )
  }
  return { value: v }
}

/** Nodes into one: fixed when every part is, else rendered per call. */
function combine(parts: Node[], build: (values: unknown[]) => unknown): Node {
  if (parts.every((p) => 'value' in p))
    return { value: build(parts.map((p) => (p as { value: unknown }).value)) }
  const fns = parts.map((p) => ('value' in p ? () => p.value : p.render))
  return { render: (c) => build(fns.map((f) => f(c))) }
}

function messageValueNode(v: unknown, desc: DescMessage, at: string, problems: string[]): Node {
  const wrapped = WRAPPERS[desc.typeName]
  if (wrapped !== undefined) return scalarNode(v, wrapped, at, problems)
  if (JSON_TYPES.has(desc.typeName)) return jsonNode(v)
  if (desc.typeName === 'google.protobuf.Timestamp')
    return leaf(
      typeof v === 'number' ? new Date(v).toISOString() : v,
      at,
      problems,
      'a time (ISO 8601, e.g. 2024-01-31T12:00:00Z)',
      (s) => new Date(/^\d+$/.test(s) ? Number(s) : s),
      (x) => x instanceof Date && !Number.isNaN(x.getTime()),
    )
  if (UNSUPPORTED.has(desc.typeName)) {
    problems.push(`${at}: ${desc.typeName} fields are not supported in load messages`)
    return { value: undefined }
  }
  return compileMessage(v, desc, at, problems)
}

function fieldNode(v: unknown, f: DescField, at: string, problems: string[]): Node {
  switch (f.fieldKind) {
    case 'scalar':
      return scalarNode(v, f.scalar, at, problems)
    case 'enum':
      return enumNode(v, f.enum.values, f.enum.name, at, problems)
    case 'message':
      return messageValueNode(v, f.message, at, problems)
    case 'list': {
      if (!Array.isArray(v)) {
        problems.push(`${at}: a list (repeated field)`)
        return { value: [] }
      }
      const item = (x: unknown, i: number): Node =>
        f.listKind === 'scalar'
          ? scalarNode(x, f.scalar, `${at}[${i}]`, problems)
          : f.listKind === 'enum'
            ? enumNode(x, f.enum.values, f.enum.name, `${at}[${i}]`, problems)
            : messageValueNode(x, f.message, `${at}[${i}]`, problems)
      return combine(v.map(item), (xs) => xs)
    }
    case 'map': {
      if (!isObj(v)) {
        problems.push(`${at}: a mapping (map field)`)
        return { value: {} }
      }
      const keys = Object.keys(v)
      const item = (k: string): Node =>
        f.mapKind === 'scalar'
          ? scalarNode(v[k], f.scalar, `${at}.${k}`, problems)
          : f.mapKind === 'enum'
            ? enumNode(v[k], f.enum.values, f.enum.name, `${at}.${k}`, problems)
            : messageValueNode(v[k], f.message, `${at}.${k}`, problems)
      return combine(keys.map(item), (xs) => Object.fromEntries(keys.map((k, i) => [k, xs[i]])))
    }
  }
}

/**
 * A message from its YAML mapping, typed by the proto: fields by their proto name (`page_size`)
 * or the generated code's (`pageSize`), numbers and bools converted from rendered text, enum
 * values by name or number. Unknown fields and values of the wrong type are problems.
 */
export function compileMessage(v: unknown, desc: DescMessage, at: string, problems: string[]): Node {
  if (!isObj(v)) {
    problems.push(`${at}: a mapping of ${desc.name}'s fields`)
    return { value: {} }
  }
  const keys: string[] = []
  const parts: Node[] = []
  for (const [k, x] of Object.entries(v)) {
    const f = desc.fields.find((d) => d.name === k || toTsProtoName(d.name) === k || d.jsonName === k)
    if (!f) {
      problems.push(
        `${at}.${k}: ${desc.name} has no field ${k} (fields: ${desc.fields.map((d) => d.name).join(', ') || 'none'})`,
      )
      continue
    }
    keys.push(toTsProtoName(f.name))
    parts.push(fieldNode(x, f, `${at}.${k}`, problems))
  }
  return combine(parts, (xs) => Object.fromEntries(keys.map((k, i) => [k, xs[i]])))
}

/** A gRPC call ready to send: the load generator calls it and is told the status code when it ends. */
export interface CompiledGrpcCall {
  spec: { name: string; weight: number; method: 'gRPC'; path: string; expect: number[] }
  /** starts one call; `done` is called once, never synchronously, with its status code */
  call(c: TemplateContext, done: (code: number) => void): void
}
