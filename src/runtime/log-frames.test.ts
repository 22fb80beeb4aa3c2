import { describe, expect, it } from 'vitest'
import { demuxBuffer } from './log-frames.js'

/** One frame as the engine sends it: stream type, three zero bytes, the payload's length, the payload. */
const frame = (type: number, text: string) => {
  const payload = Buffer.from(text)
  const head = Buffer.alloc(8)
  head[0] = type
  head.writeUInt32BE(payload.length, 4)
  return Buffer.concat([head, payload])
}

describe('demuxBuffer', () => {
  it('joins stdout and stderr frames in their order', () => {
    expect(demuxBuffer(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]))).toBe(
      'out 1\nerr 1\nout 2\n',
    )
  })
  it('passes the raw text of a TTY container (no frame headers) through', () => {
    expect(demuxBuffer(Buffer.from('plain line\n'))).toBe('plain line\n')
  })
})
