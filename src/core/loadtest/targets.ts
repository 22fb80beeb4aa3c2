/** Load targets: a URL, or a service of the workspace with requests its generated REST resource accepts. */
import { sampleValue } from '../scaffold/entity-vars.js'
import {
  findGateway,
  hasCapability,
  publishesPorts,
  toEntityFields,
  type GatewayRouteSpec,
  type ServiceSpec,
  type Workspace,
} from '../workspace/model.js'
import type { RequestSpec } from './request.js'

/** `http://...` and `https://...` are URLs; anything else names a service. */
export function isUrlTarget(text: string): boolean {
  return /^https?:\/\//i.test(text)
}

/** One GET of the URL as given. */
export function urlRequests(url: URL): RequestSpec[] {
  return [
    {
      name: `GET ${url.pathname}${url.search}`,
      weight: 1,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: {},
      expect: [[200, 399]],
    },
  ]
}

/**
 * A service's HTTP port on 127.0.0.1 and a read-heavy mix of its resource routes: list (4 of 5)
 * and create with a body its schema accepts and a fresh name (1 of 5). Without the http
 * capability: its health route.
 */
export function serviceTarget(
  ws: Workspace,
  name: string,
): { url: URL; requests: RequestSpec[] } | undefined {
  const s = ws.services[name]
  if (!s) return undefined
  return directTarget(s)
}

/**
 * Where a service's load goes: its own published port, or, when a gateway is the entry point and
 * the service publishes none, through the gateway's route to its resource (`via` says which, so
 * that the command can send a token when the route needs one). `unreachable` when neither.
 */
export function loadTarget(
  ws: Workspace,
  name: string,
):
  | { url: URL; requests: RequestSpec[]; via?: { gateway: string; route: GatewayRouteSpec } }
  | { unreachable: string }
  | undefined {
  const s = ws.services[name]
  if (!s) return undefined
  const direct = directTarget(s)
  if (publishesPorts(ws, name)) return direct
  const gateway = findGateway(ws)
  const resource = `/${s.resource}`
  // its derived route if it still has it, else the shortest one to its resource
  const derived = `/api${resource}`
  const route = gateway
    ? ws.services[gateway]!.gateway!.routes.filter((r) => r.service === name && r.to === resource).sort(
        (a, b) => Number(b.path === derived) - Number(a.path === derived) || a.path.length - b.path.length,
      )[0]
    : undefined
  if (!gateway || !route || !hasCapability(s, 'http'))
    return {
      unreachable:
        s.replicas !== 1
          ? `${name} runs ${s.replicas} replicas and publishes no port${gateway ? ', and the gateway has no route to its resource' : ''}`
          : `${name} publishes no port (the gateway is the entry point) and the gateway has no route to ${resource}`,
    }
  return {
    url: new URL(`http://127.0.0.1:${ws.services[gateway]!.ports.http}`),
    requests: direct.requests.map((r) => ({ ...r, path: route.path + r.path.slice(resource.length) })),
    via: { gateway, route },
  }
}

function directTarget(s: ServiceSpec): { url: URL; requests: RequestSpec[] } {
  const url = new URL(`http://127.0.0.1:${s.ports.http}`)
  if (!hasCapability(s, 'http'))
    return {
      url,
      requests: [
        {
          name: 'GET /health/live',
          weight: 1,
          method: 'GET',
          path: '/health/live',
          headers: {},
          expect: [[200, 200]],
        },
      ],
    }
  const r = `/${s.resource}`
  return {
    url,
    requests: [
      {
        name: `GET ${r}`,
        weight: 4,
        method: 'GET',
        path: `${r}?limit=20`,
        headers: {},
        expect: [[200, 200]],
      },
      {
        name: `POST ${r}`,
        weight: 1,
        method: 'POST',
        path: r,
        headers: { 'content-type': 'application/json' },
        // unique fields are fresh per request and across runs: the resource answers 409 to a taken one
        body: createBody(s),
        expect: [[201, 201]],
      },
    ],
  }
}

/**
 * A create body the resource's schema accepts, from the model's fields (the values its generated
 * tests send), with every unique field fresh: a string or uuid takes `{{uuid}}`, a number a random
 * integer. A unique string whose limits leave no room for a uuid keeps its sample (it will clash).
 */
export function createBody(spec: ServiceSpec): string {
  const fresh = new Map<string, string>()
  const body: Record<string, unknown> = {}
  for (const f of toEntityFields(spec)) {
    const sample = sampleValue(f, 1)
    if (!f.unique || f.pattern !== undefined) {
      body[f.name] = sample
      continue
    }
    const marker = `__msvc_fresh_${fresh.size}__`
    const k = f.type.kind
    if (k === 'uuid') fresh.set(marker, '"{{uuid}}"')
    else if (k === 'integer' || k === 'number')
      fresh.set(marker, `{{randomInt ${f.min ?? 1} ${f.max ?? 2_000_000_000}}}`)
    else if (k === 'string' && (f.maxLength === undefined || f.maxLength >= f.name.length + 37))
      fresh.set(marker, `"${f.name} {{uuid}}"`)
    else {
      body[f.name] = sample
      continue
    }
    body[f.name] = marker
  }
  let text = JSON.stringify(body)
  for (const [marker, value] of fresh) text = text.replace(`"${marker}"`, value)
  return text
}
