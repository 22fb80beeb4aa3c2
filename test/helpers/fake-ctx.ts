import { stripVTControlCharacters } from 'node:util'
import { Writable } from 'node:stream'
import type { Ctx } from '../../src/context.js'
import type { Prompter } from '../../src/io/prompt.js'
import { createUi } from '../../src/ui/ui.js'

class Capture extends Writable {
  text = ''
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString()
    cb()
  }
}

/**
 * A prompter that answers from a script keyed by a fragment of the question and
 * throws on any question it was not told to expect (wrangler's mockConfirm).
 */
export function scriptedPrompter(
  answers: [fragment: string, answer: unknown][],
): Prompter & { asked: string[] } {
  const asked: string[] = []
  const take = (message: string): unknown => {
    asked.push(message)
    const i = answers.findIndex(([fragment]) => message.includes(fragment))
    if (i < 0) throw new Error(`unexpected prompt: ${message}`)
    const [[, answer]] = answers.splice(i, 1) as [[string, unknown]]
    if (answer instanceof Error) throw answer
    return answer
  }
  return {
    asked,
    input: async (q) => {
      const a = take(q.message) as string
      const valid = q.validate?.(a) ?? true
      if (valid !== true) throw new Error(`scripted answer ${a} fails validation: ${valid}`)
      return a
    },
    checkbox: async (q) => take(q.message) as never,
  }
}

/** A Ctx writing to buffers; stdout/stderr come back with ANSI stripped. */
export function fakeCtx(cwd: string, overrides: Partial<Ctx> = {}) {
  const stdout = new Capture()
  const stderr = new Capture()
  const ui = createUi({ stdout, stderr, env: { NO_COLOR: '1' } })
  const ctx: Ctx = {
    cwd,
    env: {},
    ui,
    prompt: scriptedPrompter([]),
    interactive: false,
    version: '0.0.0-test',
    runtime: () => Promise.reject(new Error('this test gave the context no runtime')),
    engine: () => Promise.reject(new Error('this test gave the context no engine')),
    dashboard: () => Promise.reject(new Error('this test gave the context no dashboard')),
    trapSignals: () => {
      const ac = new AbortController()
      return { signal: ac.signal, received: () => undefined, release: () => {} }
    },
    ...overrides,
  }
  return {
    ctx,
    stdout: () => stripVTControlCharacters(stdout.text),
    stderr: () => stripVTControlCharacters(stderr.text),
  }
}
