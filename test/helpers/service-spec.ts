import { parseFieldsFlag } from '../../src/core/workspace/fields.js'
import type { ServiceSpec } from '../../src/core/workspace/model.js'

/** A service of msvc.yaml as the unit tests need one: http on 3001, nothing else unless given. */
export const serviceSpec = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  description: '',
  capabilities: ['http'],
  resource: 'items',
  ports: { http: 3001 },
  calls: [],
  publishes: [],
  subscribes: [],
  replicas: 1,
  env: {},
  ...over,
})

/** A PostgreSQL service of `resource` whose entity has the fields of a `--fields` flag. */
export function postgresSpec(resource: string, fields: string): ServiceSpec {
  const r = parseFieldsFlag(fields)
  if (!r.ok) throw new Error(`bad --fields ${fields}: ${JSON.stringify(r.problems)}`)
  return serviceSpec({ resource, store: 'postgres', fields: r.fields })
}
