// ESLint for the whole workspace (`npm run lint`): JavaScript's and typescript-eslint's
// recommended rules, without type information so that it stays fast. Formatting is prettier's
// job (`npm run format`), so no stylistic rules are on here.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // Built bundles and the clients that `msvc proto gen` writes are not hand-written code.
  { ignores: ['**/dist/', '**/node_modules/', '**/coverage/', 'packages/clients/src/gen/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // A leading underscore marks a value kept on purpose: `const { version: _v, ...rest } = x`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
)
