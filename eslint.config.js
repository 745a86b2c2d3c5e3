import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'data/',
      'bench/.tmp/',
      'web/dist/',
      // Front-end code kept byte for byte as its authors wrote it (interoperability tests).
      'src/testing/fixtures/seed003/reconcile-client.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-enum-comparison': 'off',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'no focused tests' },
      ],
    },
  },
  {
    // Dependencies flow one way: protocol → server/client/agent → cli.
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '../server/*',
            '../client/*',
            '../agent/*',
            '../cli/*',
            'fastify',
            'pg',
            'better-sqlite3',
          ],
        },
      ],
    },
  },
  {
    files: ['src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: ['../cli/*', '../../cli/*', '../client/*', '../../client/*'] },
      ],
    },
  },
  {
    // The agent depends on the protocol only (it may later ship as its own package).
    files: ['src/agent/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '../server/*',
            '../../server/*',
            '../client/*',
            '../../client/*',
            '../cli/*',
            '../../cli/*',
          ],
        },
      ],
    },
  },
  {
    // pdv-sync/react runs in browsers: no Node modules, and the protocol only through its
    // browser-safe files (protocol/index.js pulls node:crypto).
    files: ['src/react/**/*.ts', 'src/react/**/*.tsx'],
    ignores: ['src/react/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:*',
            'ws',
            '../protocol/index.js',
            '../server/*',
            '../client/*',
            '../agent/*',
            '../cli/*',
            '../testing/*',
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
      },
    },
  },
);
