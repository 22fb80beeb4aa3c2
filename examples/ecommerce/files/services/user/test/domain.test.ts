import { describe, expect, it } from 'vitest'
import { JwtVerifier } from '@shop/kit/gateway'
import { outbox } from '../src/db/schema.js'
import { hashCost, hashPassword, TOKEN_TTL_SEC, UserService, verifyPassword } from '../src/domain/user.js'
import { PgUserRepository } from '../src/domain/user.pg.js'
import { useTestDatabase } from './database.js'

const database = useTestDatabase()
const make = () => new UserService(new PgUserRepository(database()))
const SECRET = 'a development secret of 32 bytes or more'
process.env.JWT_SECRET = SECRET
process.env.PASSWORD_HASH_COST = '1024'

const ada = { email: 'Ada@Example.com', password: 'correct horse', name: 'Ada' }

describe('UserService', () => {
  it('register stores the hash of the password, never the password, with user.registered', async () => {
    const [user] = await make().register(ada)
    expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada' })
    expect(user!.passwordHash).toMatch(/^scrypt\$1024\$/)
    expect(user!.passwordHash).not.toContain(ada.password)
    const events = await database().select({ type: outbox.type, payload: outbox.payload }).from(outbox)
    expect(events).toEqual([
      { type: 'user.registered', payload: { userId: user!.id, email: 'ada@example.com', name: 'Ada' } },
    ])
  })

  it('register refuses a short password and an email taken (in any case)', async () => {
    const service = make()
    await expect(service.register({ ...ada, password: 'short' })).rejects.toMatchObject({
      name: 'InvalidInputError',
    })
    await service.register(ada)
    await expect(service.register({ ...ada, email: 'ADA@example.com' })).rejects.toMatchObject({
      name: 'ConflictError',
    })
  })

  it('login answers a token the gateway verifies, for the user, with role customer', async () => {
    const service = make()
    const [user] = await service.register(ada)
    const login = await service.login({ email: 'ada@EXAMPLE.com', password: ada.password })
    expect(login).toMatchObject({ expiresIn: TOKEN_TTL_SEC, userId: user!.id })
    const claims = await new JwtVerifier({ secret: SECRET }).verify(login.token)
    expect(claims).toMatchObject({ sub: user!.id, roles: ['customer'] })
  })

  it('login refuses a wrong password and an unknown email alike (401)', async () => {
    const service = make()
    await service.register(ada)
    for (const wrong of [
      { email: ada.email, password: 'wrong horse' },
      { email: 'nobody@example.com', password: ada.password },
    ])
      await expect(service.login(wrong)).rejects.toMatchObject({
        name: 'UnauthenticatedError',
        message: 'wrong email or password',
      })
  })

  it('refuses a PASSWORD_HASH_COST that is not a power of 2 above 1, naming it (503)', () => {
    expect(hashCost('1024')).toBe(1024)
    for (const raw of ['abc', '1000', '1', '', '-2'])
      expect(() => hashCost(raw)).toThrow(expect.objectContaining({ name: 'UnavailableError' }))
    expect(() => hashCost('abc')).toThrow(
      'PASSWORD_HASH_COST must be a power of 2 above 1 (1024, 16384), got "abc"',
    )
  })

  it('a hash keeps its cost: one made at another cost still verifies', async () => {
    const stored = await hashPassword('p4ssword!', 2048)
    expect(stored).toMatch(/^scrypt\$2048\$/)
    expect(await verifyPassword('p4ssword!', stored)).toBe(true)
    expect(await verifyPassword('p4ssword?', stored)).toBe(false)
    expect(await verifyPassword('p4ssword!', 'plain')).toBe(false)
  })
})
