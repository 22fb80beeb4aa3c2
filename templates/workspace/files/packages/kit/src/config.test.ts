import { describe, expect, it } from 'vitest'
import { ConfigError, env, loadConfig } from './config.js'

const spec = {
  PORT: env.port(3000),
  LOG_LEVEL: env.oneOf(['debug', 'info', 'warn', 'error'] as const, 'info'),
  SHUTDOWN_TIMEOUT: env.duration(10_000),
  PAYMENT_URL: env.url('http://payment:3002'),
  FEATURE: env.bool(false),
}

describe('loadConfig', () => {
  it('takes defaults and parses values', () => {
    expect(loadConfig(spec, { PORT: '8080', SHUTDOWN_TIMEOUT: '2s', FEATURE: 'true' })).toEqual({
      PORT: 8080,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT: 2000,
      PAYMENT_URL: 'http://payment:3002',
      FEATURE: true,
    })
  })

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 1 to 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT must be an integer from 1 to 65535, got "70000"'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of debug, info, warn, error, got "loud"'],
    [{ SHUTDOWN_TIMEOUT: 'soon' }, 'SHUTDOWN_TIMEOUT must be a duration such as 500ms, 2s or 1m, got "soon"'],
    [{ PAYMENT_URL: 'not a url' }, 'PAYMENT_URL must be a URL such as http://host:port, got "not a url"'],
    [{ FEATURE: 'maybe' }, 'FEATURE must be true or false, got "maybe"'],
  ])('rejects %j', (source, message) => {
    expect(() => loadConfig(spec, source)).toThrow(new ConfigError(message))
  })

  it('names a missing required value', () => {
    expect(() => loadConfig({ DB: env.string() }, {})).toThrow('DB is required: set it to a non-empty string')
  })
})
