import { DEFAULT_BASE_IMAGE, type ServiceSpec, type Workspace } from '../workspace/model.js'
import {
  toCalleeEnv,
  toCamelCase,
  toConstantCase,
  toKebabCase,
  toPascalCase,
  toSingular,
} from '../workspace/names.js'
import { parseDuration } from '../chaos/units.js'
import { workspaceServiceTables } from '../db/table.js'
import { toDbVars } from './db-vars.js'
import { toSagaVars } from './saga-vars.js'
import { toEntityVars } from './entity-vars.js'
import { toCreatedEventVars, toEventVars, toServiceEvents } from './event-vars.js'
import {
  type FilePlan,
  type PlannedFile,
  type TemplateFile,
  type TemplateManifest,
  renderTemplate,
} from './render.js'

export interface LoadedTemplate {
  manifest: TemplateManifest
  files: TemplateFile[]
}

/** The templates scaffolding uses: the workspace root (with packages/kit), a service, the gateway. */
export interface TemplateSet {
  workspace: LoadedTemplate
  service: LoadedTemplate
  gateway: LoadedTemplate
}

/** The template a service of the workspace is rendered from. */
export const templateOf = (ws: Workspace, name: string, t: TemplateSet): LoadedTemplate =>
  ws.services[name]?.kind === 'gateway' ? t.gateway : t.service

/** Variables a service template sees (documented in docs/templates.md). */
export function toTemplateVars(ws: Workspace, serviceName: string, msvcVersion: string) {
  const spec = ws.services[serviceName]
  if (!spec) throw new Error(`no service ${serviceName} in the workspace`)
  const entity = toSingular(spec.resource)
  const eventVars = (type: string) => toEventVars(ws, type)
  return {
    msvcVersion,
    runtime: { defaultImage: DEFAULT_BASE_IMAGE },
    workspace: {
      name: ws.name,
      kitPackage: `@${ws.name}/kit`,
      clientsPackage: `@${ws.name}/clients`,
    },
    service: {
      ...nameVars(serviceName),
      description: spec.description || `The ${serviceName} service`,
      http: spec.capabilities.includes('http'),
      grpc: spec.capabilities.includes('grpc'),
      events: spec.capabilities.includes('events'),
      /** the aggregate's domain service: behind the REST routes and the gRPC server alike */
      domain: spec.capabilities.includes('http') || spec.capabilities.includes('grpc'),
      /** its aggregate lives in its own PostgreSQL database (else in memory) */
      postgres: spec.store === 'postgres',
      /** a postgres service that publishes: its events go through the transactional outbox */
      outbox: spec.store === 'postgres' && spec.publishes.length > 0 && spec.capabilities.includes('events'),
      /** imports the workspace's generated clients package (serves or calls gRPC) */
      usesClients:
        spec.capabilities.includes('grpc') ||
        spec.calls.some((c) => ws.services[c]?.capabilities.includes('grpc') === true),
      grpcCalls: spec.calls
        .filter((c) => ws.services[c]?.capabilities.includes('grpc') === true)
        .map((c) => ({
          ...nameVars(c),
          env: toCalleeEnv(c),
          resourcePascal: toPascalCase(ws.services[c]!.resource),
        })),
      resource: spec.resource,
      resourcePascal: toPascalCase(spec.resource),
      resourceSnake: toConstantCase(spec.resource).toLowerCase(),
      resourceCamel: toCamelCase(spec.resource),
      /** `<workspace>.<service>.v1` with hyphens as underscores: a proto package allows no hyphen */
      protoPackage: `${toSnake(ws.name)}.${toSnake(serviceName)}.v1`,
      entity: toPascalCase(entity),
      entityCamel: toCamelCase(entity),
      entityKebab: toKebabCase(entity),
      entitySnake: toConstantCase(entity).toLowerCase(),
      entityConstant: toConstantCase(entity),
      ports: { http: spec.ports.http, grpc: spec.ports.grpc ?? 0 },
      calls: spec.calls.map((callee) => {
        const c = ws.services[callee] as ServiceSpec
        return {
          ...nameVars(callee),
          /** the env names compose writes for this callee */
          env: toCalleeEnv(callee),
          ports: { http: c.ports.http, grpc: c.ports.grpc ?? 0 },
          grpc: c.capabilities.includes('grpc'),
        }
      }),
      publishes: spec.publishes.map(eventVars),
      subscribes: spec.subscribes.map(eventVars),
      /** events: the catalog entries it uses, and the event its create route publishes (or false) */
      eventTypes: toServiceEvents(ws, spec),
      createdEvent: toCreatedEventVars(ws, spec),
    },
    /** the aggregate: its fields and operations as types, schemas, proto lines and test samples */
    entity: toEntityVars(spec),
    /** a postgres service's tables: the Drizzle schema and the row mapping (false for memory) */
    /** the sagas it owns (src/sagas.ts): their definitions and the one its create starts (false: none) */
    sagas: toSagaVars(ws, serviceName),
    db:
      spec.store === 'postgres'
        ? toDbVars(spec, serviceName, workspaceServiceTables(ws, serviceName))
        : false,
  }
}

/** Variables the gateway template sees: its upstreams and routes (docs/templates.md). */
export function toGatewayVars(ws: Workspace, name: string, msvcVersion: string) {
  const spec = ws.services[name]
  if (!spec?.gateway) throw new Error(`no gateway ${name} in the workspace`)
  const g = spec.gateway
  return {
    msvcVersion,
    runtime: { defaultImage: DEFAULT_BASE_IMAGE },
    workspace: { name: ws.name, kitPackage: `@${ws.name}/kit`, clientsPackage: `@${ws.name}/clients` },
    service: {
      ...nameVars(name),
      description: spec.description || 'The entry point: routes, tokens and rate limits',
      ports: { http: spec.ports.http },
    },
    gateway: {
      balance: g.balance,
      jwt: { jwksUrl: g.jwt.jwksUrl ?? '', issuer: g.jwt.issuer ?? '', audience: g.jwt.audience ?? '' },
      trustedProxies: g.trustedProxies.join(','),
      /** one config entry per upstream: its URL on the compose network (the name every replica answers to) */
      upstreams: spec.calls.map((callee) => ({
        name: callee,
        env: toCalleeEnv(callee).url,
        url: `http://${callee}:${ws.services[callee]!.ports.http}`,
      })),
      routes: g.routes.map((r) => {
        const rule = /^jwt\(roles=(.*)\)$/.exec(r.auth)
        return {
          ...r,
          env: toCalleeEnv(r.service).url,
          timeoutMs: parseDuration(r.timeout)!,
          authNone: r.auth === 'none',
          /** the roles a test token needs to pass the route, as a TypeScript array literal */
          rolesTs: rule ? `['${rule[1]!.split(',')[0]!.trim()}']` : '[]',
        }
      }),
    },
  }
}

const toSnake = (name: string): string => name.replace(/-/g, '_')

const nameVars = (name: string) => ({
  name,
  pascal: toPascalCase(name),
  camel: toCamelCase(name),
  constant: toConstantCase(name),
})

/** The files of one service, under services/<name>/. */
export function planServiceFiles(
  ws: Workspace,
  name: string,
  t: TemplateSet,
  msvcVersion: string,
): PlannedFile[] {
  const template = templateOf(ws, name, t)
  const vars =
    template === t.gateway ? toGatewayVars(ws, name, msvcVersion) : toTemplateVars(ws, name, msvcVersion)
  return renderTemplate(template.manifest, template.files, vars, `services/${name}`)
}

/** A new workspace: root files, the kit, msvc.yaml and its first service. */
export function planCreateWorkspace(
  ws: Workspace,
  firstService: string,
  msvcYaml: string,
  t: TemplateSet,
  msvcVersion: string,
): FilePlan {
  const vars = toTemplateVars(ws, firstService, msvcVersion)
  const files = [
    { path: 'msvc.yaml', contents: msvcYaml },
    ...renderTemplate(t.workspace.manifest, t.workspace.files, vars),
    ...planServiceFiles(ws, firstService, t, msvcVersion),
  ]
  return { files }
}

/** One more service in an existing workspace: its files, and msvc.yaml replaced. */
export function planAddServiceFiles(
  ws: Workspace,
  name: string,
  msvcYaml: string,
  t: TemplateSet,
  msvcVersion: string,
): FilePlan {
  return {
    files: [...planServiceFiles(ws, name, t, msvcVersion), { path: 'msvc.yaml', contents: msvcYaml }],
    replaces: ['msvc.yaml'],
  }
}
