import { describe, expect, it } from 'vitest'
import { composeCommand } from './cli-args.js'

const inv = { files: ['/w/docker-compose.yml'], project: 'shop' }

describe('composeCommand', () => {
  it.each([
    [
      'v2',
      { kind: 'up', services: ['order'] },
      'docker compose -p shop -f /w/docker-compose.yml up -d --no-build --remove-orphans order',
    ],
    [
      'v1',
      { kind: 'up', services: [] },
      'docker-compose -p shop -f /w/docker-compose.yml up -d --no-build --remove-orphans',
    ],
    [
      'v2',
      { kind: 'down', volumes: true },
      'docker compose -p shop -f /w/docker-compose.yml down --remove-orphans --volumes',
    ],
    [
      'v1',
      { kind: 'down', volumes: false },
      'docker-compose -p shop -f /w/docker-compose.yml down --remove-orphans',
    ],
    ['v1', { kind: 'config' }, 'docker-compose -p shop -f /w/docker-compose.yml config -q'],
  ] as const)('%s %j', (flavour, action, expected) => {
    const { command, args } = composeCommand(flavour, inv, action)
    expect([command, ...args].join(' ')).toBe(expected)
  })

  it('passes the override and its labels after the generated file, in that order', () => {
    const files = ['/w/docker-compose.yml', '/w/docker-compose.override.yml', '/w/.msvc/x.yml']
    const { args } = composeCommand('v1', { files, project: 'shop' }, { kind: 'down', volumes: false })
    expect(args.join(' ')).toBe(
      '-p shop -f /w/docker-compose.yml -f /w/docker-compose.override.yml -f /w/.msvc/x.yml down --remove-orphans',
    )
  })
})
