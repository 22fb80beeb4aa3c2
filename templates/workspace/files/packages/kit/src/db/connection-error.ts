// No imports: the server's error handlers (server.ts, grpc/status.ts) use this in every service,
// and a service without PostgreSQL must not load its driver for it.

const CONNECTION_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|57P0[1-3]|53300|08\d{3})$/
const CONNECTION_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection error and is not queryable|Client was closed/i

/**
 * The database cannot be reached (refused, reset, shutting down, too many clients, a connection
 * lost mid-query): a 503. Looks through drizzle's wrapping at every cause.
 */
export function isConnectionError(e: unknown): boolean {
  let cur: unknown = e
  for (let i = 0; i < 5 && cur instanceof Error; i++) {
    const c = cur as Error & { code?: unknown }
    if (typeof c.code === 'string' && CONNECTION_CODES.test(c.code)) return true
    if (CONNECTION_MESSAGES.test(c.message)) return true
    cur = cur instanceof AggregateError ? cur.errors[0] : c.cause
  }
  return false
}
