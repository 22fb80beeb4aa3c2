import { describe, expect, it } from 'vitest'
import { DOCKER_HINT, toEngineHint, toPullHint } from './docker-hints.js'

// Issue 13, item 4: hints named `sudo bash ../shared/ci/docker-env.sh`, a file users do not have.
describe('docker hints', () => {
  it('names the image to pull', () => {
    expect(toPullHint('node:22-slim')).toBe('docker pull node:22-slim')
  })

  it.each([
    ['EACCES', /docker group/],
    ['ENOENT', /sudo systemctl start docker.*Docker Desktop.*https:\/\/docs\.docker\.com\/engine\/install\//],
    ['ECONNREFUSED', /sudo systemctl start docker.*Docker Desktop/],
    [undefined, /sudo systemctl start docker/],
  ])('for %s: %s', (code, hint) => {
    expect(toEngineHint(code)).toMatch(hint)
  })

  it('never points at a script of this repository, and each hint is one line', () => {
    for (const hint of [...Object.values(DOCKER_HINT), toPullHint('x')]) {
      expect(hint).not.toMatch(/\.sh\b|shared\/ci/)
      expect(hint).not.toContain('\n')
    }
  })
})
