import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger }

/** JSON logs on stdout, one object a line, with the service name in every line. */
export function createLogger(service: string, level = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
