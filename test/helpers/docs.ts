import { readFileSync } from 'node:fs'

/** The fenced ```yaml blocks of a page under docs/, so that tests can hold the docs' examples true. */
export function yamlBlocksOf(page: string): string[] {
  const text = readFileSync(new URL(`../../docs/${page}`, import.meta.url), 'utf8')
  return [...text.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!)
}
