import { describe, expect, it } from 'vitest'
import { MASK, isSecretEnv, maskEnv, maskEnvValue } from './secrets.js'

describe('maskEnvValue', () => {
  it.each([
    ['JWT_SECRET', 'abc', MASK],
    ['DB_PASSWORD', 'hunter2', MASK],
    ['POSTGRES_PASSWORD', 'order-dev', MASK],
    ['STRIPE_API_KEY', 'sk_live_x', MASK],
    ['GITHUB_TOKEN', 'x', MASK],
    ['SERVICE_NAME', 'order', 'order'],
    ['PORT', '3001', '3001'],
    ['PAYMENT_URL', 'http://payment:3002', 'http://payment:3002'],
    ['NATS_URL', 'nats://nats:4222', 'nats://nats:4222'],
    [
      'DATABASE_URL',
      'postgres://order:order-dev@order-db:5432/order',
      `postgres://order:${MASK}@order-db:5432/order`,
    ],
    ['UPSTREAM', 'https://alice:s3cr3t@example.test/x', `https://alice:${MASK}@example.test/x`],
    // a random-looking value hides whatever its name
    ['SOMETHING', 'Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA', MASK],
    ['HEX', '8f14e45fceea167a5a36dedd4bea2543', MASK],
    // long, but plainly not a key
    ['LOG_LEVEL_FOR_EVERY_MODULE_HERE', 'info', 'info'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'http://host.docker.internal:4318', 'http://host.docker.internal:4318'],
    ['OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment=dev', 'deployment.environment=dev'],
    ['JWT_SECRET', '${MSVC_JWT_SECRET:?missing}', '${MSVC_JWT_SECRET:?missing}'],
  ])('%s=%s', (name, value, shown) => {
    expect(maskEnvValue(name, value)).toBe(shown)
  })

  it('does not take every name with "key" in it for a secret', () => {
    expect(isSecretEnv('KEYCLOAK_REALM', 'shop')).toBe(false)
    expect(isSecretEnv('MONKEY', 'shop')).toBe(false)
    expect(isSecretEnv('PRIVATE_KEY', 'x')).toBe(true)
  })

  it('masks a whole environment, keys sorted', () => {
    expect(maskEnv({ b: '1', API_TOKEN: 't' })).toEqual({ API_TOKEN: MASK, b: '1' })
  })
})
