// Lint rules: typescript-eslint's recommended set plus the house rules from STYLE.md.
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'web/dist/', '.cache/', '.tsbuild/', 'data/', '**/test-fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      // House rule: no enums (erasable syntax only; `as const` objects instead).
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'use an `as const` object instead of enum' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    files: ['graders/**/*.ts'],
    rules: {
      // graders depend on nothing of ours and never on Fastify.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**', '**/web/**', 'fastify', '@fastify/*'], message: 'graders must not depend on the server, the web app or Fastify' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/src/api-contract.ts'],
    rules: {
      // The API contract is shared with the web client and the OpenAPI document: schemas only, no Fastify.
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['fastify', '@fastify/*', 'fastify-*', '**/routes/**', '**/app.ts', '**/app-types.ts'],
              message: 'the API contract holds schemas only: no Fastify, no routes',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      // Hooks in the same order on every render, and effects that see the values they use: a missing
      // dependency is a stale closure. A deliberate omission is disabled on its line with the reason.
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': ['error', { additionalHooks: '^useAsync$' }],
      // The web app talks to the server over HTTP/WS only; it may share type declarations.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/server/**', '**/graders/**'], allowTypeImports: true, message: 'the web app may only import types from the server' }] },
      ],
    },
  },
  {
    // Browser tests run in Node: they start the real server and drive Chromium.
    files: ['web/src/**/*.test.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
);
