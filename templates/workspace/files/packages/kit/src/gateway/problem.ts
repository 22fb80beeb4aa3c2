// The gateway's own error answers, as RFC 9457 problem details. Upstream answers pass unchanged.
import { STATUS_CODES } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'

/** An RFC 9457 problem, with the request id a client quotes when it reports one. */
export interface Problem {
  type: 'about:blank'
  /** the status code's reason phrase: the same for every problem of a status (RFC 9457 §4.2.1) */
  title: string
  status: number
  /** what went wrong with this request, for a person; never a token or an upstream's internals */
  detail: string
  /** the path of the request (without its query, which may hold what should not be echoed) */
  instance: string
  requestId: string
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** The problem document for a request. */
export function toProblem(request: FastifyRequest, status: number, detail: string): Problem {
  return {
    type: 'about:blank',
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail,
    instance: (request.raw.url ?? '/').split('?')[0]!,
    requestId: request.id,
  }
}

/**
 * Answers the request with a problem (and `headers`, e.g. WWW-Authenticate or Retry-After). Sent
 * as bytes: JSON has no charset parameter (RFC 8259 §11), which fastify adds to a string.
 */
export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  detail: string,
  headers: Record<string, string> = {},
): FastifyReply {
  return reply
    .code(status)
    .headers(headers)
    .type(PROBLEM_CONTENT_TYPE)
    .send(Buffer.from(JSON.stringify(toProblem(request, status, detail))))
}
