#!/usr/bin/env node
// `npm run build`: msvc's sources bundled by esbuild into dist/, then the templates precompiled.
//
// Why a bundle rather than tsc's one file per module: a Node start pays for every module it
// resolves and reads, and `create-service` read about 260 of them (35 of msvc's own, 74 of yaml,
// 81 of @bufbuild/protobuf, 22 of handlebars, ...). Bundled, it reads a handful of files and
// scaffolding takes about 50 ms less (issue #2: under 300 ms; figures in docs/architecture.md).
//  - Entry points: the CLI (bin/msvc.js, bin/create-service.js) and the warm ts-proto plugin
//    starter that bin/create-service.js loads before the CLI.
//  - Code splitting keeps each command's modules out of the others' start: a command's
//    `await import('./commands/x.js')` becomes a chunk loaded when that command runs.
//  - Bundled packages: the pure-JS ones on the start path (INLINE). Every other package stays
//    external and is loaded from node_modules as before: those with native parts or files found by
//    path (dockerode, protoc, ts-proto, buf), and those imported only by the command that uses them.
//  - Types are not checked here: `npm run typecheck` (tsc) does that, and `npm test` runs it.
// Chunks sit flat in dist/, beside dist/templates.precompiled.js (src/io/templates.ts finds that
// file beside the module that loads it).
import { build } from 'esbuild'
import { copyFileSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const INLINE = ['yaml', 'commander', 'chalk', '@bufbuild/protobuf', 'handlebars', 'ajv']

/** A bare import of a package not in INLINE stays an import, resolved at run time. */
const externalPackages = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./#]/ }, (args) => {
      if (args.path.startsWith('node:')) return { external: true }
      const name = args.path.startsWith('@')
        ? args.path.split('/').slice(0, 2).join('/')
        : args.path.split('/')[0]
      return INLINE.includes(name) ? undefined : { external: true }
    })
  },
}

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
const result = await build({
  absWorkingDir: root,
  // load-worker: the thread of `msvc loadtest --workers` (src/io/loadtest/workers.ts finds it by URL)
  entryPoints: {
    cli: 'src/cli.ts',
    'warm-plugin': 'src/io/proto/plugin.ts',
    'load-worker': 'src/io/loadtest/load-worker.ts',
  },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // CommonJS packages bundled into ESM (yaml, handlebars) call require() for Node's modules
  banner: {
    js: "import { createRequire as __msvcRequire } from 'node:module'; const require = __msvcRequire(import.meta.url);",
  },
  plugins: [externalPackages],
  metafile: true,
  logLevel: 'warning',
})
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'))
console.log(`bundled src/ into ${outputs.length} files in dist/`)

// The dashboard's page (issue #18): Preact and uPlot bundled with its own code into one script and
// one stylesheet, shipped in dist/dashboard/ and served by `msvc dashboard`. Minified: the page is
// loaded over loopback, but a small bundle keeps the package small too.
await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/dashboard-ui/main.tsx' },
  outdir: 'dist/dashboard',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'linked',
  tsconfig: 'src/dashboard-ui/tsconfig.json',
  logLevel: 'warning',
})
copyFileSync(
  new URL('../src/dashboard-ui/index.html', import.meta.url),
  new URL('../dist/dashboard/index.html', import.meta.url),
)
console.log('bundled the dashboard page into dist/dashboard/')
