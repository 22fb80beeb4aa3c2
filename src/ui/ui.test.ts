import { describe, expect, it } from 'vitest'
import { formatTable, isColorEnabled } from './ui.js'

describe('isColorEnabled', () => {
  it.each([
    [{}, true, true],
    [{}, false, false],
    [{ NO_COLOR: '1' }, true, false],
    [{ NO_COLOR: '1', FORCE_COLOR: '1' }, true, false],
    [{ FORCE_COLOR: '1' }, false, true],
    [{ FORCE_COLOR: '0' }, true, false],
    [{ TERM: 'dumb' }, true, false],
  ])('%j on tty=%s -> %s', (env, tty, expected) => {
    expect(isColorEnabled(env, tty)).toBe(expected)
  })
})

describe('formatTable', () => {
  it('pads by visible width', () => {
    expect(formatTable([['a', '\u001b[32mgreen\u001b[39m', 'x']], ['NAME', 'STATE', 'Z'])).toBe(
      'NAME  STATE  Z\na     \u001b[32mgreen\u001b[39m  x',
    )
  })
})
