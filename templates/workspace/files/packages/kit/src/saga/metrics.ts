// A saga orchestrator's Prometheus metrics, registered in the service's registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export type SagaMetrics = ReturnType<typeof createSagaMetrics>

/** Upper bounds of the step duration histogram, in seconds: a call within a stack to a slow timeout. */
export const SAGA_STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * `stuck` is read from the database when the registry is scraped (every replica reports the same
 * count: aggregate with max, not sum); the others are this replica's.
 */
export function createSagaMetrics(
  registry: Registry | undefined,
  readStuck: () => Promise<Map<string, number>>,
) {
  const registers = registry ? [registry] : []
  return {
    started: new Counter({
      name: 'saga_started_total',
      help: 'Sagas started, by saga',
      labelNames: ['saga'],
      registers,
    }),
    ended: new Counter({
      name: 'saga_ended_total',
      help: 'Sagas ended, by saga and outcome (completed, compensated)',
      labelNames: ['saga', 'outcome'],
      registers,
    }),
    stepDuration: new Histogram({
      name: 'saga_step_duration_seconds',
      help: 'Attempts of saga steps and compensations, by saga, step, phase (call, compensate) and outcome',
      labelNames: ['saga', 'step', 'phase', 'outcome'],
      buckets: SAGA_STEP_BUCKETS,
      registers,
    }),
    inFlight: new Gauge({
      name: 'saga_in_flight',
      help: 'Sagas this replica is driving now',
      registers,
    }),
    stuck: new Gauge({
      name: 'saga_stuck',
      help: 'Sagas stuck (a compensation failed every attempt), by saga: retry them once the cause is fixed',
      labelNames: ['saga'],
      registers,
      async collect() {
        // a database that does not answer leaves the last count
        const counts = await readStuck().catch(() => undefined)
        if (!counts) return
        this.reset()
        for (const [saga, n] of counts) this.set({ saga }, n)
      },
    }),
  }
}
