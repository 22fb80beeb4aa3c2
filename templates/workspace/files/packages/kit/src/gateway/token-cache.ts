// Verified tokens remembered until they expire, so that a client sending the same token with
// every request costs one signature check, not one a request.
import { decodeJwt } from 'jose'
import { JwtVerifier, type JwtSettings, type Principal } from './auth.js'

/**
 * A JwtVerifier that remembers the tokens it accepted, by the token itself, until the token's
 * `exp` (without the clock skew the first check allows: a token near its end is checked again).
 * Refusals are not remembered. At most `maxEntries` are kept, the oldest dropped first.
 *
 * What this gives up: a token stays accepted until its `exp` even if its key leaves the JWKS
 * meanwhile. Keep tokens short-lived, or use a plain JwtVerifier.
 */
export class CachingJwtVerifier extends JwtVerifier {
  private readonly accepted = new Map<string, { principal: Principal; untilMs: number }>()

  constructor(
    settings: JwtSettings,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {
    super(settings, clock)
  }

  override async verify(token: string): Promise<Principal> {
    const known = this.accepted.get(token)
    if (known && known.untilMs > this.clock()) return known.principal
    if (known) this.accepted.delete(token)
    const principal = await super.verify(token)
    // verified, so exp is there (a required claim) and the payload decodes
    const untilMs = (decodeJwt(token).exp ?? 0) * 1000
    if (untilMs > this.clock()) {
      this.accepted.set(token, { principal, untilMs })
      if (this.accepted.size > this.maxEntries) this.accepted.delete(this.accepted.keys().next().value!)
    }
    return principal
  }

  /** How many tokens are remembered now. */
  get size(): number {
    return this.accepted.size
  }
}
