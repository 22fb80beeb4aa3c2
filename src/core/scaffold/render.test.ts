import { describe, expect, it } from 'vitest'
import { globToRegExp, isTruthy, renderTemplate, type TemplateFile } from './render.js'

const file = (path: string, text: string): TemplateFile => ({
  path,
  contents: new TextEncoder().encode(text),
  mode: 0o644,
})
const text = (c: string | Uint8Array) => (typeof c === 'string' ? c : new TextDecoder().decode(c))

describe('renderTemplate', () => {
  const vars = { service: { name: 'payment', grpc: false, http: true, calls: [] } }

  it('renders .hbs, copies the rest, renames dotfiles, templates paths', () => {
    const plan = renderTemplate(
      { files: [{ path: 'proto/**', when: 'service.grpc' }] },
      [
        file('src/{{service.name}}.ts.hbs', 'export const name = "{{service.name}}"'),
        file('src/raw.ts', 'const x = "{{not rendered}}"'),
        file('_gitignore', 'dist/'),
        file('proto/{{service.name}}.proto.hbs', 'x'),
      ],
      vars,
      'services/payment',
    )
    expect(plan.map((f) => [f.path, text(f.contents)])).toEqual([
      ['services/payment/.gitignore', 'dist/'],
      ['services/payment/src/payment.ts', 'export const name = "payment"'],
      ['services/payment/src/raw.ts', 'const x = "{{not rendered}}"'],
    ])
  })

  it('fails on a missing variable, naming the file', () => {
    expect(() => renderTemplate({}, [file('a.hbs', '{{service.nope}}')], vars)).toThrow(
      /template a\.hbs: .*nope/,
    )
  })

  it('refuses paths that escape the target', () => {
    expect(() => renderTemplate({}, [file('{{x}}/a', '')], { x: '..' })).toThrow(/unsafe path/)
  })
})

describe('isTruthy', () => {
  it.each([
    ['service.http', true],
    ['service.grpc', false],
    ['!service.grpc', true],
    ['service.calls', false],
    ['service.missing', false],
  ])('%s -> %s', (when, expected) => {
    expect(isTruthy({ service: { http: true, grpc: false, calls: [] } }, when)).toBe(expected)
  })
})

describe('globToRegExp', () => {
  it.each([
    ['src/http/**', 'src/http/routes.ts.hbs', true],
    ['src/http/**', 'src/http/a/b.ts', true],
    ['src/http/**', 'src/https.ts', false],
    ['*.hbs', 'a.hbs', true],
    ['*.hbs', 'a/b.hbs', false],
    ['**/*.proto', 'proto/x.proto', true],
    ['**/*.proto', 'x.proto', true],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected)
  })
})
