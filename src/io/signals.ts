/** SIGINT/SIGTERM, caught while a command must undo what it did before it ends. */
export interface SignalTrap {
  /** aborted by the first SIGINT or SIGTERM */
  signal: AbortSignal
  /** which one arrived first, if any */
  received(): string | undefined
  /** stops catching: the signals end msvc again */
  release(): void
}

/** SIGINT/SIGTERM abort the returned signal instead of killing msvc, until `release`. */
export function trapSignals(): SignalTrap {
  const ac = new AbortController()
  let got: string | undefined
  const on = (name: string) => () => {
    got ??= name
    ac.abort()
  }
  const int = on('SIGINT')
  const term = on('SIGTERM')
  process.on('SIGINT', int)
  process.on('SIGTERM', term)
  return {
    signal: ac.signal,
    received: () => got,
    release: () => {
      process.off('SIGINT', int)
      process.off('SIGTERM', term)
    },
  }
}
