import type { FastifyReply, FastifyRequest } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import { createLogger } from './logger.js'
import { Metrics } from './metrics.js'
import { RequestLogController, requestLoggerFactory } from './request-log.js'

function recorded(level = 'info') {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger('svc', level, { write: (l: string) => void lines.push(JSON.parse(l)) })
  return { logger, lines }
}

describe('requestLoggerFactory', () => {
  const make = (logger: ReturnType<typeof createLogger>, options = {}) =>
    requestLoggerFactory.call(undefined as never, logger, { requestId: 'r-1' }, options, undefined as never)

  it('makes the pino child only when a line is written at an enabled level', () => {
    const { logger, lines } = recorded()
    const child = vi.spyOn(logger, 'child')
    const log = make(logger)
    log.debug('below the level')
    expect(child).not.toHaveBeenCalled()
    log.info({ a: 1 }, 'first')
    log.warn('second')
    expect(child).toHaveBeenCalledTimes(1)
    expect(lines).toMatchObject([
      { level: 'info', requestId: 'r-1', a: 1, msg: 'first', service: 'svc' },
      { level: 'warn', requestId: 'r-1', msg: 'second' },
    ])
  })

  it('answers level and child like a pino child, and honours a route log level', () => {
    const { logger, lines } = recorded()
    const log = make(logger)
    expect(log.level).toBe('info')
    log.child({ step: 'two' }).info('nested')
    expect(lines[0]).toMatchObject({ requestId: 'r-1', step: 'two', msg: 'nested' })
    const quiet = make(logger, { level: 'error' })
    quiet.info('dropped')
    expect(quiet.level).toBe('error')
    expect(lines).toHaveLength(1)
  })
})

describe('RequestLogController', () => {
  const request = (id = 'r-2', url = '/orders/:id') =>
    ({ id, method: 'GET', routeOptions: { url } }) as unknown as FastifyRequest
  const reply = (statusCode = 200) => {
    const headers: Record<string, string> = {}
    return {
      statusCode,
      elapsedTime: 1.23456,
      headers,
      header(name: string, value: string) {
        headers[name] = value
        return this
      },
    } as unknown as FastifyReply & { headers: Record<string, string> }
  }

  it('sets x-request-id on arrival', () => {
    const { logger } = recorded()
    const r = reply()
    new RequestLogController(logger, new Metrics('svc', { processMetrics: false })).incomingRequest(
      request(),
      r,
    )
    expect(r.headers).toEqual({ 'x-request-id': 'r-2' })
  })

  it('writes one line and counts the request when it completes, with an error line when the write failed', async () => {
    const { logger, lines } = recorded()
    const metrics = new Metrics('svc', { processMetrics: false })
    const controller = new RequestLogController(logger, metrics)
    controller.requestCompleted(null, request(), reply())
    controller.requestCompleted(new Error('socket hang up'), request('r-3'), reply(500))
    expect(lines).toEqual([
      {
        level: 'info',
        time: expect.any(String),
        service: 'svc',
        requestId: 'r-2',
        method: 'GET',
        route: '/orders/:id',
        statusCode: 200,
        durationMs: 1.23,
        msg: 'request',
      },
      expect.objectContaining({ level: 'info', requestId: 'r-3', statusCode: 500, msg: 'request' }),
      expect.objectContaining({
        level: 'error',
        requestId: 'r-3',
        route: '/orders/:id',
        msg: 'response failed',
        err: expect.objectContaining({ message: 'socket hang up' }),
      }),
    ])
    const exposition = (await metrics.exposition()).body
    expect(exposition).toContain(
      'http_requests_total{method="GET",route="/orders/:id",status_code="200",service="svc"} 1',
    )
    expect(exposition).toContain('status_code="500"')
    expect(controller.requestIdLogLabel).toBe('requestId')
  })
})
