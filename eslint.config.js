import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const CORE_FORBIDDEN = ['node:fs', 'node:fs/promises', 'fs', 'execa', 'dockerode', 'node:child_process']

/** Any import leaving src/core/<dir>/, but for the kit's pure grammars (no I/O, no packages). */
const OUTSIDE_CORE =
  '^\\.\\./\\.\\./(?!\\.\\./templates/workspace/files/packages/kit/src/gateway/(auth-rule|rate-limit)\\.js$)'

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'coverage/',
      'bench/out/',
      'test/fixtures/**/golden/',
      // a workspace's own files, checked where the saga test copies them (a generated workspace)
      'test/fixtures/sagas/user/',
      'examples/*/files/',
      'src/**/*.gen.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // Node 20's globals that plain .mjs scripts (bench/) use
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // Import boundaries (docs/architecture.md, Layout): core holds decisions only and imports nothing
  // outside core, no I/O module either (STYLE.md §3); io and runtime touch the world and import
  // neither ui nor commands. Patterns match the import text, so each depth gets its own.
  {
    files: ['src/core/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: CORE_FORBIDDEN, patterns: ['../*'] }],
      'no-restricted-globals': ['error', 'process', 'console'],
    },
  },
  {
    files: ['src/core/*/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      // core may read the kit's pure grammars, so that msvc refuses what the generated code would
      'no-restricted-imports': ['error', { paths: CORE_FORBIDDEN, patterns: [{ regex: OUTSIDE_CORE }] }],
      'no-restricted-globals': ['error', 'process', 'console'],
    },
  },
  {
    files: ['src/io/**/*.ts', 'src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '../ui/*',
            '../../ui/*',
            '../commands/*',
            '../../commands/*',
            '../cli.js',
            '../../cli.js',
            '../cli-*',
            '../../cli-*',
          ],
        },
      ],
    },
  },
)
