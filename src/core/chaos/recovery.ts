/** One observation of a target while msvc waits for it to recover. */
export interface RecoverySample {
  /** when the observation was made (the answer arrived), epoch ms */
  at: number
  /** when it was started; samples are ordered by it */
  sentAt: number
  /** docker: running, not paused, Docker health healthy (and a new process after kill/restart);
   *  ready: GET /health/ready answered 200; probe: the user's --probe passed */
  source: 'docker' | 'ready' | 'probe'
  /** container name (docker, ready) or the probe URL */
  target: string
  ok: boolean
}

export interface RecoveryReport {
  recovered: boolean
  /** the clock's start, epoch ms: the fault (kill, restart) or its end (stop, pause, partition) */
  from: number
  /** from `from` until Docker saw every target running and healthy again */
  healthyMs?: number
  /** until every target's /health/ready answered 200 */
  readyMs?: number
  /** until the --probe passed */
  probeMs?: number
  /** the largest of the above: the service is back */
  recoveredMs?: number
  /** false: the target has no /health/ready (a database), Docker's healthcheck decides */
  ready?: false
}

/**
 * Recovery time per series: the first passing observation after the last failing one (ordered by
 * when they were sent), so a flap counts as not yet recovered. A series is recovered when each of
 * its targets is; `recoveredMs` needs every expected series.
 */
export function computeRecovery(
  samples: RecoverySample[],
  opts: { from: number; targets: string[]; probe?: string; ready?: boolean },
): RecoveryReport {
  const seriesTime = (source: RecoverySample['source'], target: string): number | undefined => {
    const s = samples
      .filter((x) => x.source === source && x.target === target && x.sentAt >= opts.from)
      .sort((a, b) => a.sentAt - b.sentAt)
    let lastFail = -1
    s.forEach((x, i) => {
      if (!x.ok) lastFail = i
    })
    const first = s.slice(lastFail + 1).sort((a, b) => a.at - b.at)[0]
    return first ? Math.max(0, first.at - opts.from) : undefined
  }
  const all = (source: RecoverySample['source'], targets: string[]): number | undefined => {
    let max = 0
    for (const t of targets) {
      const v = seriesTime(source, t)
      if (v === undefined) return undefined
      max = Math.max(max, v)
    }
    return max
  }
  const healthyMs = all('docker', opts.targets)
  // a target without /health/ready (a database, NATS) is back when Docker's healthcheck passes
  const watchesReady = opts.ready !== false
  const readyMs = watchesReady ? all('ready', opts.targets) : undefined
  const probeMs = opts.probe ? all('probe', [opts.probe]) : undefined
  const parts = [healthyMs, ...(watchesReady ? [readyMs] : []), ...(opts.probe ? [probeMs] : [])]
  const recovered = parts.every((p) => p !== undefined)
  return {
    recovered,
    from: opts.from,
    ...(watchesReady ? {} : { ready: false as const }),
    ...(healthyMs !== undefined ? { healthyMs } : {}),
    ...(readyMs !== undefined ? { readyMs } : {}),
    ...(probeMs !== undefined ? { probeMs } : {}),
    ...(recovered ? { recoveredMs: Math.max(...(parts as number[])) } : {}),
  }
}

/** "recovered in 1.23 s (healthy 1.20 s, ready 0.41 s)" */
export function describeRecovery(r: RecoveryReport, timeoutMs: number): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
  const parts = [
    r.healthyMs !== undefined ? `Docker healthy ${s(r.healthyMs)}` : 'Docker health: not healthy',
    ...(r.ready === false
      ? []
      : [r.readyMs !== undefined ? `/health/ready ${s(r.readyMs)}` : '/health/ready: not ready']),
    ...(r.probeMs !== undefined ? [`probe ${s(r.probeMs)}`] : []),
  ]
  return r.recovered
    ? `recovered in ${s(r.recoveredMs!)} (${parts.join(', ')})`
    : `not recovered within ${s(timeoutMs)} (${parts.join(', ')})`
}
