// Load balancing over a service's replicas, with passive and active ejection.

export type BalancePolicy = 'round-robin' | 'least-outstanding'

export interface BalancerOptions {
  /** round-robin, or the instance with the fewest requests in flight (ties taken in turn); default least-outstanding */
  policy?: BalancePolicy
  /** consecutive failures that eject an instance (default 3) */
  ejectAfter?: number
  /** how long a first ejection lasts; each ejection in a row doubles it (default 5 s) */
  ejectMs?: number
  /** the longest an ejection lasts (default 60 s) */
  maxEjectMs?: number
  /** called at each ejection, with how long it lasts (a gateway counts ejections in its metrics) */
  onEject?: (address: string, ejectMs: number) => void
  now?: () => number
}

/** One instance as the balancer sees it (what /metrics reports). */
export interface InstanceState {
  address: string
  /** requests sent and not yet finished */
  outstanding: number
  /** out after consecutive failures, until the time passes */
  ejected: boolean
  /** what the last active health check said (true until one says otherwise) */
  ready: boolean
  /** how many times it was ejected */
  ejections: number
}

/** A picked instance: call done() once the request finished, saying whether it failed. */
export interface Lease {
  address: string
  done(ok: boolean): void
}

interface Instance {
  address: string
  outstanding: number
  failures: number
  ejectedUntil: number
  ejectionsInRow: number
  ejections: number
  ready: boolean
}

/**
 * Spreads requests over the replicas of one upstream. An instance that fails `ejectAfter` times
 * in a row is left out for `ejectMs` (doubling while it keeps failing once back, up to
 * `maxEjectMs`); one whose readiness check fails is left out until it passes. When every instance
 * is out, the one that has been out the longest is tried rather than failing every request: a
 * whole upstream down is the breaker's business, not the balancer's.
 */
export class Balancer {
  private instances: Instance[] = []
  private cursor = 0
  private readonly now: () => number

  constructor(
    addresses: string[],
    private readonly opts: BalancerOptions = {},
  ) {
    this.now = opts.now ?? Date.now
    this.setAddresses(addresses)
  }

  /** The addresses as last resolved: known instances keep their state, gone ones are dropped. */
  setAddresses(addresses: string[]): void {
    const known = new Map(this.instances.map((i) => [i.address, i]))
    this.instances = [...new Set(addresses)].map(
      (address) =>
        known.get(address) ?? {
          address,
          outstanding: 0,
          failures: 0,
          ejectedUntil: 0,
          ejectionsInRow: 0,
          ejections: 0,
          ready: true,
        },
    )
  }

  /** An active check's verdict on one instance. */
  setReady(address: string, ready: boolean): void {
    const i = this.instances.find((x) => x.address === address)
    if (!i) return
    // back from not ready (a restarted replica): its ejection, earned while it was down, is over;
    // else the doubling ejections of its downtime would keep a healthy replica out for a minute
    if (ready && !i.ready) {
      i.ejectedUntil = 0
      i.ejectionsInRow = 0
      i.failures = 0
    }
    i.ready = ready
  }

  /**
   * The instance for the next request; undefined only when there is none at all. `avoid`: the
   * addresses a retry already failed on, passed over while another instance is usable.
   */
  pick(avoid?: ReadonlySet<string>): Lease | undefined {
    if (this.instances.length === 0) return undefined
    const now = this.now()
    let usable = this.instances.filter((i) => i.ready && i.ejectedUntil <= now)
    if (avoid?.size) {
      const others = usable.filter((i) => !avoid.has(i.address))
      if (others.length > 0) usable = others
    }
    let chosen: Instance
    if (usable.length === 0) {
      // every one is out: the one out the longest (the earliest back) is the best guess
      chosen = [...this.instances].sort((a, b) => a.ejectedUntil - b.ejectedUntil)[0]!
    } else if ((this.opts.policy ?? 'least-outstanding') === 'round-robin') {
      chosen = usable[this.cursor++ % usable.length]!
    } else {
      // the fewest in flight; among equals, the next in turn (so that idle replicas all get work)
      const start = this.cursor++
      chosen = usable[start % usable.length]!
      for (let k = 1; k < usable.length; k++) {
        const candidate = usable[(start + k) % usable.length]!
        if (candidate.outstanding < chosen.outstanding) chosen = candidate
      }
    }
    chosen.outstanding++
    let finished = false
    return {
      address: chosen.address,
      done: (ok: boolean) => {
        if (finished) return
        finished = true
        chosen.outstanding--
        this.record(chosen, ok)
      },
    }
  }

  private record(i: Instance, ok: boolean): void {
    if (ok) {
      i.failures = 0
      i.ejectionsInRow = 0
      return
    }
    i.failures++
    if (i.failures < (this.opts.ejectAfter ?? 3)) return
    const base = this.opts.ejectMs ?? 5000
    const ms = Math.min(this.opts.maxEjectMs ?? 60_000, base * 2 ** i.ejectionsInRow)
    i.ejectedUntil = this.now() + ms
    i.ejectionsInRow++
    i.ejections++
    i.failures = 0
    this.opts.onEject?.(i.address, ms)
  }

  /** Every instance's state, for metrics and readiness. */
  snapshot(): InstanceState[] {
    const now = this.now()
    return this.instances.map((i) => ({
      address: i.address,
      outstanding: i.outstanding,
      ejected: i.ejectedUntil > now,
      ready: i.ready,
      ejections: i.ejections,
    }))
  }
}
