/** Load targets: a URL, or a service of the workspace with requests its generated REST resource accepts. */
import { hasCapability, type Workspace } from '../workspace/model.js'
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
        // names are unique per run and across runs: the resource answers 409 to a name it has
        body: JSON.stringify({ name: 'load {{uuid}}', description: 'created by msvc loadtest' }),
        expect: [[201, 201]],
      },
    ],
  }
}
