import type { Workspace } from '../workspace/model.js'
import { toCamelCase, toConstantCase } from '../workspace/names.js'
import {
  GENERATED_HEADER,
  type CompiledProto,
  type ProtoMethod,
  type ProtoProblem,
  type ProtoService,
} from './model.js'

/** A file of the generated clients package, relative to the workspace root. */
export interface GeneratedFile {
  path: string
  contents: string
}

export interface ClientsPlan {
  /** everything under GEN_DIR: written when changed; other generated files there are removed */
  generated: GeneratedFile[]
  /** the package's own files: written only when missing (the user owns them afterwards) */
  scaffold: GeneratedFile[]
}

export type ClientsPlanResult = { ok: true; plan: ClientsPlan } | { ok: false; problems: ProtoProblem[] }

const DEFAULT_DEADLINE_MS = 2000

/** `2s`, `500ms`, `1m` in ms; undefined when it is none of those. */
export function parseDeadline(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim())
  if (!m) return undefined
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']
  return ms > 0 ? Math.round(ms) : undefined
}

/** The TypeScript the generated clients package holds, from the compiled protos of every service. */
export function planClients(ws: Workspace, protos: CompiledProto[]): ClientsPlanResult {
  const problems = findClashes(protos)
  if (problems.length > 0) return { ok: false, problems }
  const kit = `@${ws.name}/kit`
  const byService = new Map<string, CompiledProto[]>()
  for (const p of [...protos].sort((a, b) => cmp(a.service, b.service) || cmp(a.file, b.file)))
    byService.set(p.service, [...(byService.get(p.service) ?? []), p])

  const generated: GeneratedFile[] = []
  const barrel: string[] = []
  for (const [service, files] of byService) {
    const dir = `packages/clients/src/gen/${service}`
    const outputs = new Map<string, string>()
    for (const f of files) for (const o of f.outputs) outputs.set(o.path, o.contents)
    for (const [path, contents] of [...outputs].sort(([a], [b]) => cmp(a, b)))
      generated.push({ path: `${dir}/pb/${path}`, contents })
    const services = files.flatMap((f) => f.services.map((s) => ({ ...s, file: f.file })))
    const deadline = parseDeadline(ws.services[service]?.deadline ?? '') ?? DEFAULT_DEADLINE_MS
    generated.push({
      path: `${dir}/client.ts`,
      contents: renderClientModule(service, files, services, deadline, kit),
    })
    generated.push({ path: `${dir}/descriptors.ts`, contents: renderDescriptors(service, files) })
    const roots = files.map((f) => `./pb/${toModulePath(f.file)}.js`)
    const index = [GENERATED_HEADER, `// The messages and clients of ${service}'s protos.`]
    if (roots.length === 1) index.push(`export * from '${roots[0]}'`)
    else
      files.forEach((f, i) =>
        index.push(`export * as ${toCamelCase(f.file.replace(/\.proto$/, ''))} from '${roots[i]}'`),
      )
    index.push(`export * from './client.js'`, `export * from './descriptors.js'`, '')
    generated.push({ path: `${dir}/index.ts`, contents: index.join('\n') })
    const ns = toCamelCase(service)
    barrel.push(`export * as ${ns} from './${service}/index.js'`)
    for (const s of services)
      barrel.push(
        `export { ${factoryName(s)}, ${constName(s)}_METHODS, type ${callerName(s)} } from './${service}/client.js'`,
      )
  }
  generated.push({
    path: 'packages/clients/src/gen/index.ts',
    contents: [
      GENERATED_HEADER,
      '// Typed gRPC clients for every .proto in the workspace: `msvc proto gen` rewrites this folder.',
      ...(barrel.length ? barrel : ['export {}']),
      '',
    ].join('\n'),
  })
  return { ok: true, plan: { generated, scaffold: scaffoldFiles(ws) } }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)
const toModulePath = (protoFile: string): string => protoFile.replace(/\.proto$/, '')
const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1)
export const factoryName = (s: Pick<ProtoService, 'name'>): string => `create${s.name}Client`
const callerName = (s: Pick<ProtoService, 'name'>): string => `${s.name}Caller`
const constName = (s: Pick<ProtoService, 'name'>): string => toConstantCase(s.name)

/** Two services generating the same exported name, or one service declaring a name twice. */
export function findClashes(protos: CompiledProto[]): ProtoProblem[] {
  const problems: ProtoProblem[] = []
  const owners = new Map<string, { service: string; file: string }>()
  for (const p of protos)
    for (const s of p.services) {
      const name = factoryName(s)
      const other = owners.get(name)
      if (other && other.service !== p.service)
        problems.push({
          file: `services/${p.service}/proto/${p.file}`,
          message: `services ${other.service} (proto/${other.file}) and ${p.service} (proto/${p.file}) both generate ${name}: rename one of the proto services`,
        })
      else owners.set(name, { service: p.service, file: p.file })
    }
  const perService = new Map<string, Map<string, string>>()
  for (const p of protos) {
    const seen = perService.get(p.service) ?? new Map<string, string>([['FILE_DESCRIPTORS', '(generated)']])
    perService.set(p.service, seen)
    const derived = p.services.flatMap((s) => [
      factoryName(s),
      callerName(s),
      `${constName(s)}_METHODS`,
      `${constName(s)}_DEADLINE_MS`,
    ])
    for (const name of [...p.names, ...derived]) {
      const first = seen.get(name)
      if (first !== undefined)
        problems.push({
          file: `services/${p.service}/proto/${p.file}`,
          message: `${name} is declared twice in ${p.service}'s protos (proto/${first} and proto/${p.file})`,
        })
      else seen.set(name, p.file)
    }
  }
  return problems
}

function renderClientModule(
  service: string,
  files: CompiledProto[],
  services: (ProtoService & { file: string })[],
  deadlineMs: number,
  kit: string,
): string {
  // imports grouped by module, values (the message codecs, the grpc-js client) and types apart
  const imports = new Map<string, Map<string, boolean>>()
  const use = (module: string, name: string, asValue: boolean) => {
    const m = imports.get(module) ?? new Map<string, boolean>()
    imports.set(module, m)
    m.set(name, (m.get(name) ?? false) || asValue)
  }
  const unary = (s: ProtoService) => s.methods.filter((m) => !m.streaming)
  for (const s of services) {
    use(toModulePath(s.file), `${s.name}Client`, true)
    for (const m of unary(s)) {
      use(m.input.module, m.input.name, true)
      use(m.output.module, m.output.name, false)
    }
  }
  const lines = [
    GENERATED_HEADER,
    `// source: services/${service}/proto/{${files.map((f) => f.file).join(',')}}`,
    `import { ResilientGrpcClient, type GrpcCallOptions, type GrpcClientOptions, type PartialMessage } from '${kit}/grpc'`,
  ]
  for (const [module, names] of [...imports].sort(([a], [b]) => cmp(a, b))) {
    const list = [...names]
      .sort(([a], [b]) => cmp(a, b))
      .map(([n, value]) => (value ? n : `type ${n}`))
      .join(', ')
    lines.push(`import { ${list} } from './pb/${module}.js'`)
  }
  for (const s of services) {
    const C = constName(s)
    const methods = unary(s)
    lines.push(
      '',
      `/** The methods of ${s.fullName}; only idempotent ones (idempotency_level in the .proto) are ever retried. */`,
      `export const ${C}_METHODS = {`,
      ...methods.map((m) => `  ${lowerFirst(m.name)}: { idempotent: ${m.idempotent} },`),
      '} as const',
      '',
      `/** Default deadline of each call to ${service} (msvc.yaml services.${service}.deadline, else 2s). */`,
      `export const ${C}_DEADLINE_MS = ${deadlineMs}`,
      '',
      `/** ${s.fullName} with the kit's resilience; every method takes a per-call deadline and context. */`,
      `export interface ${callerName(s)} {`,
      ...methods.flatMap((m) => [
        `  /** ${s.fullName}/${m.name}${m.idempotent ? ' (idempotent: retried on UNAVAILABLE and DEADLINE_EXCEEDED)' : ''} */`,
        `  ${lowerFirst(m.name)}(request?: PartialMessage<${m.input.name}>, options?: GrpcCallOptions): Promise<${m.output.name}>`,
      ]),
      `  /** the breaker guarding ${service}: closed, open or half-open */`,
      `  readonly breakerState: ResilientGrpcClient['breakerState']`,
      `  /** the resilient client behind the typed methods (its breaker, 'unary' by method name); streaming methods go through the ts-proto client class */`,
      `  readonly raw: ResilientGrpcClient`,
      `  close(): void`,
      '}',
      '',
      `/** A client of ${s.fullName}; \`address\` is host:port (in compose, ${service}'s name and gRPC port). */`,
      `export function ${factoryName(s)}(opts: GrpcClientOptions): ${callerName(s)} {`,
      `  const c = new ResilientGrpcClient(${s.name}Client, ${C}_METHODS, { target: '${service}', deadlineMs: ${C}_DEADLINE_MS, ...opts })`,
      '  return {',
      ...methods.map(
        (m) =>
          `    ${lowerFirst(m.name)}: (request = {}, options) => c.unary('${lowerFirst(m.name)}', ${m.input.name}.fromPartial(request as ${m.input.name}), options),`,
      ),
      '    get breakerState() {',
      '      return c.breakerState',
      '    },',
      '    raw: c,',
      '    close: () => c.close(),',
      '  }',
      '}',
    )
  }
  lines.push('')
  return lines.join('\n')
}

/** The descriptors of a service's protos and their imports, for server reflection. */
function renderDescriptors(service: string, files: CompiledProto[]): string {
  const all = new Map<string, string>()
  for (const f of files) for (const d of f.descriptors) if (!all.has(d.name)) all.set(d.name, d.base64)
  return [
    GENERATED_HEADER,
    `/** ${service}'s protos and their imports as serialized FileDescriptorProtos (base64), for server reflection. */`,
    'export const FILE_DESCRIPTORS: readonly string[] = [',
    ...[...all].map(([name, b64]) => `  // ${name}\n  '${b64}',`),
    ']',
    '',
  ].join('\n')
}

/** The clients package around the generated folder: written once, then the workspace's own. */
function scaffoldFiles(ws: Workspace): GeneratedFile[] {
  const pkg = {
    name: `@${ws.name}/clients`,
    version: '0.0.0',
    private: true,
    type: 'module',
    description: `Typed gRPC clients of ${ws.name}'s services, generated by msvc proto gen from their .proto files`,
    exports: { '.': './src/index.ts' },
    scripts: { typecheck: 'tsc -p tsconfig.json', build: 'tsc -p tsconfig.json' },
    dependencies: {
      [`@${ws.name}/kit`]: '*',
      '@bufbuild/protobuf': '^2.17.0',
      '@grpc/grpc-js': '~1.14.0',
    },
  }
  return [
    { path: 'packages/clients/package.json', contents: JSON.stringify(pkg, null, 2) + '\n' },
    {
      path: 'packages/clients/tsconfig.json',
      // As prettier writes it: a short array stays on one line.
      contents: '{\n  "extends": "../../tsconfig.base.json",\n  "include": ["src"]\n}\n',
    },
    {
      path: 'packages/clients/src/index.ts',
      contents: [
        `// The workspace's typed gRPC clients. src/gen/ is rewritten by \`msvc proto gen\`;`,
        '// this file is yours: add helpers here.',
        "export * from './gen/index.js'",
        '',
      ].join('\n'),
    },
  ]
}

export type { ProtoMethod }
