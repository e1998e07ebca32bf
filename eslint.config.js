// Lint rules for the whole repository: TypeScript with type-aware checks where
// types exist, plain recommended rules for the JavaScript runtime clients.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import lamina from './scripts/eslint/module-boundaries.mjs';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'charts/**',
      '.lamina/**',
      '**/*.d.ts',
      'examples/**/node_modules/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.{js,mjs,cjs}'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        require: 'readonly',
        module: 'writable',
        exports: 'writable',
        __dirname: 'readonly',
        globalThis: 'readonly',
        fetch: 'readonly',
      },
    },
  },
  ...tseslint.configs.recommended.map((config) => ({ ...config, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // Modules meet at their index.ts (ARCHITECTURE.md); tests may reach inside.
    files: ['operator/src/**/*.ts'],
    plugins: { lamina },
    rules: { 'lamina/module-boundaries': 'error' },
  },
);
