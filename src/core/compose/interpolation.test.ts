import { describe, expect, it } from 'vitest'
import { interpolatedNames, interpolatedValues } from './interpolation.js'

describe('compose interpolation', () => {
  it('finds ${NAME}, ${NAME:-default}, ${NAME:?why} and $NAME, but not the escaped $$', () => {
    const yaml = [
      'RATE: ${PAYMENT_FAILURE_RATE:-0}',
      "SECRET: ${MSVC_JWT_SECRET:?the gateway's secret is missing}",
      'HOME_DIR: $HOME',
      'PROBE: test "$$(cat /run/ready)" = 3001',
      'AGAIN: ${PAYMENT_FAILURE_RATE}',
    ].join('\n')
    expect(interpolatedNames([yaml])).toEqual(['HOME', 'MSVC_JWT_SECRET', 'PAYMENT_FAILURE_RATE'])
  })

  it('takes the environment first, then .env; an unset name is named alone', () => {
    const texts = ['${A:-0} ${B} ${C}']
    const dotenv = new Map([
      ['A', 'from-dotenv'],
      ['B', 'b'],
    ])
    expect(interpolatedValues(texts, { A: '1' }, dotenv)).toBe('A=1\nB=b\nC')
    // a value changed in the shell changes the fingerprint, though no file did
    expect(interpolatedValues(texts, {}, dotenv)).not.toBe(interpolatedValues(texts, { A: '1' }, dotenv))
  })
})
