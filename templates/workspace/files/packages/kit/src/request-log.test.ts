import type { FastifyReply, FastifyRequest } from 'fastify'
import { describe, expect, it, vi } from 'vitest'
import { createLogger } from './logger.js'
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
  const request = {
    id: 'r-2',
    method: 'GET',
    routeOptions: { url: '/orders/:id' },
  } as unknown as FastifyRequest
  const reply = { statusCode: 200, elapsedTime: 1 } as unknown as FastifyReply

  it('writes nothing for a completed request (the onResponse hook does) and an error line for a failed write', () => {
    const { logger, lines } = recorded()
    const controller = new RequestLogController(logger)
    controller.incomingRequest()
    controller.requestCompleted(null, request, reply)
    expect(lines).toEqual([])
    controller.requestCompleted(new Error('socket hang up'), request, reply)
    expect(lines).toMatchObject([
      {
        level: 'error',
        requestId: 'r-2',
        route: '/orders/:id',
        msg: 'response failed',
        err: { message: 'socket hang up' },
      },
    ])
    expect(controller.requestIdLogLabel).toBe('requestId')
  })
})
