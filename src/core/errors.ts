/** A failure the user can fix: a one-line message and a hint, printed without a stack; exit 1. */
export class UserError extends Error {
  override name = 'UserError'
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** Already reported to the user; the CLI only exits with this code. */
export class ExitError extends Error {
  override name = 'ExitError'
  constructor(readonly code: number) {
    super(`exit ${code}`)
  }
}

/** Exit codes shared by every command (DESIGN.md, STYLE.md §5). */
export const EXIT = {
  ok: 0,
  failed: 1,
  /** a chaos or load run finished but broke a threshold or hypothesis */
  breached: 2,
  /** a check ran and found problems: proto gen --check, proto lint, proto breaking, doctor */
  found: 2,
  cancelled: 130,
} as const
