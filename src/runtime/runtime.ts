/** What a runtime runs the workspace on: Docker first; a local-process runtime may follow. */

export type ServicePhase = 'building' | 'built' | 'cached' | 'starting' | 'healthy' | 'unhealthy' | 'failed'

export interface PhaseEvent {
  service: string
  phase: ServicePhase
  detail?: string
}

export interface ContainerStatus {
  service: string
  id: string
  name: string
  state: string
  health: string
  restarts: number
  ports: string[]
  startedAt?: string
  uptimeSeconds?: number
}

export interface BuildOutcome {
  service: string
  bundled: boolean
  imageBuilt: boolean
  ms: { bundle: number; image: number }
}

export interface LogOptions {
  follow: boolean
  /** Unix seconds */
  since?: number
  tail?: number
}

export interface Runtime {
  /** Services the user added beside msvc.yaml's (docker-compose.override.yml), started with the stack. */
  extraServices(): Promise<string[]>
  /** Host bundle and thin image for each service; unchanged inputs are not rebuilt. */
  build(services: string[], onEvent: (e: PhaseEvent) => void): Promise<BuildOutcome[]>
  /**
   * Writes the compose file and starts the services (all when empty); with `unlessApplied`, does
   * nothing when that file is already applied and running. False when nothing needed starting.
   */
  up(services: string[], opts?: { unlessApplied?: boolean }): Promise<boolean>
  /** Resolves when every listed service's containers are healthy; rejects naming the first that is not. */
  waitHealthy(
    services: string[],
    opts: { timeoutMs: number; onEvent: (e: PhaseEvent) => void },
  ): Promise<void>
  ps(): Promise<ContainerStatus[]>
  /** removes the containers (and with `volumes`, the named volumes, listed) */
  down(opts: { volumes: boolean }): Promise<{ removed: string[]; volumes?: string[] }>
  restart(service: string): Promise<void>
  logs(
    services: string[],
    opts: LogOptions,
    write: (service: string, line: string) => void,
    signal?: AbortSignal,
  ): Promise<void>
  /** The last `lines` log lines of a service's containers, for failure reports. */
  tail(service: string, lines: number): Promise<string>
}
