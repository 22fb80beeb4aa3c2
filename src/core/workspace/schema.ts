import { CAPABILITIES, OBSERVABILITY_BACKENDS } from './model.js'

/**
 * A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest], lowercase path
 * components (Docker's own grammar, simplified).
 */
export const IMAGE_REFERENCE =
  '^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$'

/** A duration: `500ms`, `2s`, `1.5m`. */
const DURATION = '^[0-9]+(\\.[0-9]+)?(ms|s|m)$'

/** `runtime:` of the workspace or of one service. */
const RUNTIME = {
  type: 'object',
  additionalProperties: false,
  required: ['image'],
  properties: { image: { type: 'string', pattern: IMAGE_REFERENCE } },
} as const

/**
 * JSON Schema of msvc.yaml (draft-07). Shape only; cross-references (calls,
 * events, ports) are checked in parse.ts where the message can name both sides.
 */
export const WORKSPACE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'msvc workspace (msvc.yaml)',
  type: 'object',
  additionalProperties: false,
  required: ['name', 'services'],
  properties: {
    name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    services: {
      type: 'object',
      propertyNames: { pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['ports'],
        properties: {
          kind: { type: 'string', enum: ['service', 'gateway'] },
          description: { type: 'string' },
          capabilities: {
            type: 'array',
            uniqueItems: true,
            items: { type: 'string', enum: [...CAPABILITIES] },
          },
          resource: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$' },
          ports: {
            type: 'object',
            additionalProperties: false,
            required: ['http'],
            properties: {
              http: { type: 'integer', minimum: 1024, maximum: 65535 },
              grpc: { type: 'integer', minimum: 1024, maximum: 65535 },
            },
          },
          calls: { type: 'array', uniqueItems: true, items: { type: 'string' } },
          publishes: { type: 'array', uniqueItems: true, items: { type: 'string' } },
          subscribes: { type: 'array', uniqueItems: true, items: { type: 'string' } },
          replicas: { type: 'integer', minimum: 0, maximum: 50 },
          deadline: { type: 'string', pattern: DURATION },
          runtime: RUNTIME,
          // the aggregate's fields and operations: their grammar is checked by fields.ts and
          // operations.ts, whose messages name the field (parse.ts locates them)
          fields: { type: 'object' },
          store: { type: 'string', enum: ['postgres', 'memory'] },
          database: {
            type: 'object',
            additionalProperties: false,
            required: ['image'],
            properties: { image: { type: 'string', pattern: IMAGE_REFERENCE } },
          },
          operations: { type: 'object' },
          env: {
            type: 'object',
            propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
            additionalProperties: { type: ['string', 'number', 'boolean'] },
          },
          publish: { type: 'boolean' },
          // a gateway's: route defaults, routes and checks (core/workspace/gateway.ts checks the
          // grammar of each value, with messages that name the route)
          auth: { type: 'string' },
          rateLimit: { type: 'string' },
          timeout: { type: 'string', pattern: DURATION },
          retries: { type: 'integer', minimum: 0, maximum: 5 },
          routes: {
            type: 'object',
            additionalProperties: {
              anyOf: [
                { type: 'boolean', const: false },
                { type: 'string' },
                {
                  type: 'object',
                  additionalProperties: false,
                  properties: {
                    service: { type: 'string' },
                    to: { type: 'string' },
                    auth: { type: 'string' },
                    rateLimit: { type: 'string' },
                    timeout: { type: 'string', pattern: DURATION },
                    retries: { type: 'integer', minimum: 0, maximum: 5 },
                  },
                },
              ],
            },
          },
          jwt: {
            type: 'object',
            additionalProperties: false,
            properties: {
              jwksUrl: { type: 'string' },
              issuer: { type: 'string' },
              audience: { type: 'string' },
            },
          },
          trustedProxies: { type: 'array', uniqueItems: true, items: { type: 'string' } },
          balance: { type: 'string', enum: ['least-outstanding', 'round-robin'] },
        },
      },
    },
    runtime: RUNTIME,
    // standard backends added to the stack (docs/stack.md, Observability backends): each on or off
    observability: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(OBSERVABILITY_BACKENDS.map((b) => [b, { type: 'boolean' }])) as Record<
        (typeof OBSERVABILITY_BACKENDS)[number],
        { type: 'boolean' }
      >,
    },
    // sagas across services (docs/sagas.md): references and input mappings are checked in
    // core/workspace/sagas.ts, whose messages name the step
    sagas: {
      type: 'object',
      propertyNames: { pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['owner', 'steps'],
        properties: {
          owner: { type: 'string' },
          trigger: { type: 'string', enum: ['create'] },
          wait: { type: 'string', pattern: DURATION },
          steps: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['name', 'call'],
              properties: {
                name: { type: 'string', pattern: '^[a-z]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
                call: { type: 'string' },
                compensate: { type: 'string' },
                id: { type: 'string' },
                input: { type: 'object', additionalProperties: { type: 'string' } },
                timeout: { type: 'string', pattern: DURATION },
                retries: { type: 'integer', minimum: 0, maximum: 10 },
              },
            },
          },
        },
      },
    },
    events: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string' },
          schema: {
            type: 'object',
            // a field's type: string, number, integer, boolean, {field:type,...}, any of them with
            // [] and/or ? (core/events/payload-type.ts checks the grammar, with line and column)
            additionalProperties: { type: 'string', minLength: 1 },
          },
        },
      },
    },
  },
} as const
