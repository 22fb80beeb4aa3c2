import { describe, expect, it } from 'vitest'
import { appendDotEnv, ignoresDotEnv, parseDotEnv } from './dotenv.js'

describe('.env', () => {
  it('reads KEY=value lines the way compose does', () => {
    const values = parseDotEnv(
      '# c\nA=1\n export B = two \nC="quoted # not a comment"\nD=x # comment\nbad line\nA=3\r\n',
    )
    expect([...values]).toEqual([
      ['A', '3'],
      ['B', 'two'],
      ['C', 'quoted # not a comment'],
      ['D', 'x'],
    ])
  })

  it('appends a value with its comment, keeping what was there', () => {
    expect(appendDotEnv(undefined, 'K', 'v', 'what K is')).toBe('# what K is\nK=v\n')
    expect(appendDotEnv('A=1', 'K', 'v', 'c')).toBe('A=1\n# c\nK=v\n')
    expect(parseDotEnv(appendDotEnv('A=1\n', 'K', 'v', 'c')).get('K')).toBe('v')
  })

  it('knows whether .gitignore keeps .env out', () => {
    expect(ignoresDotEnv('node_modules/\n.env\n')).toBe(true)
    expect(ignoresDotEnv('/.env')).toBe(true)
    expect(ignoresDotEnv('node_modules/\n.envrc\n')).toBe(false)
  })
})
