/**
 * `KIT_PLAIN_LOGGING=1`: the kit uses plain pino and prom-client, as their documentation shows
 * them, instead of its own performance layer (PERFORMANCE.md): fastify's own request lines, a
 * pino logger writing each line as it is logged, and prom-client's labelled counter and histogram.
 * Same metric names and labels, same fields in the log lines; slower under load.
 */
export const plainMode = (env: NodeJS.ProcessEnv = process.env): boolean => env.KIT_PLAIN_LOGGING === '1'
