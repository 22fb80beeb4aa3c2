/** Thrown when an operation outlives its deadline. */
export class TimeoutError extends Error {
  override name = 'TimeoutError'
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`)
  }
}

/**
 * Runs `fn` with an AbortSignal that fires after `ms` (or when `parent` aborts), and rejects with
 * TimeoutError at the deadline even if `fn` ignores the signal.
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  ms: number,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController()
  const onParentAbort = () => controller.abort(parent?.reason)
  if (parent?.aborted) controller.abort(parent.reason)
  else parent?.addEventListener('abort', onParentAbort, { once: true })
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new TimeoutError(ms)
      controller.abort(err)
      reject(err)
    }, ms)
  })
  try {
    return await Promise.race([fn(controller.signal), deadline])
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParentAbort)
  }
}
