import Handlebars from 'handlebars'
import { describe, expect, it } from 'vitest'
import { COMPILE_OPTIONS, renderString, usePrecompiled } from './handlebars.js'

// a spec as scripts/precompile-templates.mjs writes it: JavaScript source of an object literal
const specOf = (source: string, options: object) =>
  new Function(`return ${Handlebars.precompile(source, options)}`)() as TemplateSpecification

describe('precompiled templates', () => {
  it('render exactly as the same source compiled at run time, helpers included', () => {
    const source = 'export const {{camelCase name}}Port = {{port}} // {{#if grpc}}grpc{{else}}http{{/if}}\n'
    const vars = { name: 'order-item', port: 3001, grpc: false }
    // the same text with a marker, so that it is not already in the run-time cache
    const pre = `${source}// precompiled`
    usePrecompiled([[pre, specOf(pre, COMPILE_OPTIONS)]], COMPILE_OPTIONS)
    expect(renderString(pre, vars)).toBe(`${renderString(source, vars)}// precompiled`)
    expect(renderString(source, vars)).toBe('export const orderItemPort = 3001 // http\n')
  })

  it('keep strict mode: a missing variable is still an error', () => {
    const source = 'hello {{missing}} (precompiled)'
    usePrecompiled([[source, specOf(source, COMPILE_OPTIONS)]], COMPILE_OPTIONS)
    expect(() => renderString(source, {})).toThrow(/missing/)
  })

  it('are ignored when compiled with other options', () => {
    const source = '{{text}} (other options)'
    usePrecompiled([[source, specOf(source, { noEscape: false })]], { noEscape: false })
    expect(renderString(source, { text: '<b>' })).toBe('<b> (other options)')
  })
})

describe('the helpers every template may use (docs/templates.md)', () => {
  it.each([
    ['{{kebabCase "OrderItem"}}', {}, 'order-item'],
    ['{{pascalCase "order-item"}}', {}, 'OrderItem'],
    ['{{camelCase "order-item"}}', {}, 'orderItem'],
    ['{{constantCase "order-item"}}', {}, 'ORDER_ITEM'],
    ['{{json v}}', { v: { a: [1, 'x'] } }, '{"a":[1,"x"]}'],
    // prettier's choice: the quotes that need fewer escapes
    ['{{str v}}', { v: "it's" }, '"it\'s"'],
    ['{{str v}}', { v: 'say "hi"' }, '\'say "hi"\''],
    ['{{propKey "id"}} {{propKey "order.created"}}', {}, "id 'order.created'"],
    ['{{#if (eq a "x")}}yes{{else}}no{{/if}}', { a: 'x' }, 'yes'],
    ['{{#if (not a)}}yes{{else}}no{{/if}}', { a: true }, 'no'],
    ['{{#if (and a b)}}yes{{else}}no{{/if}}', { a: true, b: false }, 'no'],
    ['{{#if (or a b)}}yes{{else}}no{{/if}}', { a: false, b: true }, 'yes'],
    ['{{join xs " | "}}', { xs: ['a', 'b'] }, 'a | b'],
    ['{{join xs}}', { xs: ['a', 'b'] }, 'a, b'],
  ])('%s', (source, vars, expected) => {
    expect(renderString(source, vars)).toBe(expected)
  })
})
