/** Load targets: a URL, or a service of the workspace with requests its generated REST resource accepts. */
import { sampleValue } from '../scaffold/entity-vars.js'
import { hasCapability, toEntityFields, type ServiceSpec, type Workspace } from '../workspace/model.js'
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
