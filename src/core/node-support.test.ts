import { describe, expect, it } from 'vitest'
import { workspaceSupportsNode } from './node-support.js'

describe('workspaceSupportsNode', () => {
  it.each([
    ['18.20.0', false],
    ['20.18.3', false],
    ['20.19.0', true],
    ['v20.20.0', true],
    ['21.7.3', false],
    ['22.12.0', false],
    ['22.13.0', true],
    ['23.11.0', false],
    ['24.0.0', true],
    ['25.2.1', true],
  ])('%s: %s', (v, ok) => {
    expect(workspaceSupportsNode(v)).toBe(ok)
  })
})
