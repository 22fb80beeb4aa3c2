import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { InvalidInputError, UnauthenticatedError, UnavailableError } from '@shop/kit'
import { storedEvent } from '@shop/kit/db'
import { signToken } from '@shop/kit/gateway'
import type { UserRegistered } from '../events/catalog.js'
import { UserCrud } from './user.crud.js'
import type {
  LoginUsersInput,
  LoginUsersOutput,
  RegisterUsersInput,
  User,
  UserOperations,
} from './user.model.js'

/** How long a login's token is valid. */
export const TOKEN_TTL_SEC = 3600

const scrypt = (password: string, salt: Buffer, cost: number) =>
  new Promise<Buffer>((resolve, reject) => {
    const options: ScryptOptions = { N: cost, r: 8, p: 1, maxmem: 256 * cost * 8 + 1024 * 1024 }
    scryptCallback(password, salt, 32, options, (e, key) => (e ? reject(e) : resolve(key)))
  })

/** scrypt's cost from PASSWORD_HASH_COST (16384 unset): a power of 2 above 1, or a 503 that names it. */
export function hashCost(raw = process.env.PASSWORD_HASH_COST ?? '16384'): number {
  const cost = Number(raw)
  if (!Number.isInteger(cost) || cost < 2 || (cost & (cost - 1)) !== 0)
    throw new UnavailableError(`PASSWORD_HASH_COST must be a power of 2 above 1 (1024, 16384), got "${raw}"`)
  return cost
}

/** `scrypt$<N>$<salt>$<hash>`: the cost travels with the hash, so a raised cost keeps old ones valid. */
export async function hashPassword(password: string, cost = hashCost()) {
  const salt = randomBytes(16)
  const hash = await scrypt(password, salt, cost)
  return `scrypt$${cost}$${salt.toString('base64')}$${hash.toString('base64')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, cost, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !cost || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64')
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), Number(cost))
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** The user service's logic: register stores a user with its password's hash, login signs a token. */
export class UserService extends UserCrud implements UserOperations {
  async register(input: RegisterUsersInput): Promise<User[]> {
    if (input.password.length < 8)
      throw new InvalidInputError('a password has 8 characters or more', '/password')
    const email = input.email.trim().toLowerCase()
    const passwordHash = await hashPassword(input.password)
    // the user and its user.registered event in one transaction (the outbox)
    const user = await this.create({ email, name: input.name, passwordHash }, (u) => {
      const registered: UserRegistered = { userId: u.id, email: u.email, name: u.name }
      return [storedEvent('user.registered', registered)]
    })
    return [user]
  }

  /** A token the gateway accepts: signed with its secret, the user's id as subject, role customer. */
  async login(input: LoginUsersInput): Promise<LoginUsersOutput> {
    const secret = process.env.JWT_SECRET
    if (!secret)
      throw new UnavailableError('login is unavailable: JWT_SECRET (the gateway secret) is not set')
    const email = input.email.trim().toLowerCase()
    const [user] = (await this.list({ limit: 1, filter: { email } })).items
    // the same refusal for an unknown email and a wrong password: neither is told apart
    if (!user || !(await verifyPassword(input.password, user.passwordHash)))
      throw new UnauthenticatedError('wrong email or password')
    const token = await signToken(secret, { sub: user.id, roles: ['customer'], ttlSec: TOKEN_TTL_SEC })
    return { token, expiresIn: TOKEN_TTL_SEC, userId: user.id }
  }
}
