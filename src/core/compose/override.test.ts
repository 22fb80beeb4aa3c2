import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import { UserError } from '../errors.js'
import { extraLabelsYaml, readOverride } from './override.js'

const F = 'docker-compose.override.yml'

describe('readOverride', () => {
  it('splits the services msvc.yaml has (changed) from those only the override has (extra)', () => {
    const text = 'services:\n  order:\n    environment: { A: "1" }\n  consul:\n    image: consul:1.15\n'
    expect(readOverride(F, text, ['order', 'nats'])).toEqual({ changed: ['order'], extra: ['consul'] })
  })

  it('takes an empty file or one with no services as adding nothing', () => {
    expect(readOverride(F, '', ['order'])).toEqual({ changed: [], extra: [] })
    expect(readOverride(F, 'volumes:\n  data: {}\n', ['order'])).toEqual({ changed: [], extra: [] })
  })

  it.each([
    ['services: [a, b]\n', /has no "services:" map/],
    ['- just\n- a list\n', /has no "services:" map/],
    ['services:\n  consul: consul:1.15\n', /service "consul" is not a map/],
    ['services:\n  a: { image: [\n', /is not valid YAML/],
  ])('refuses %j with a one-line error naming the file', (text, message) => {
    let err: unknown
    try {
      readOverride(F, text, ['order'])
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).message).toMatch(message)
    expect((err as UserError).message).toContain(F)
    expect((err as UserError).message).not.toContain('\n')
  })
})

describe('extraLabelsYaml', () => {
  it("labels each added service as this workspace's, marked as extra", () => {
    expect(parse(extraLabelsYaml('shop', ['consul']))).toEqual({
      services: {
        consul: { labels: { 'msvc.workspace': 'shop', 'msvc.service': 'consul', 'msvc.extra': 'true' } },
      },
    })
  })
})
