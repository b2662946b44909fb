// Flat config: typescript-eslint's recommended rules over the sources, tests and benchmarks, and the
// layer and context boundaries of src/ (docs/architecture.md) as no-restricted-imports patterns.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Layers above the contexts: a context or a lower layer never imports them. */
const OUTER = ['platform', 'server', 'cli', 'sdk'];
const folders = (dir) => readdirSync(new URL(dir, import.meta.url), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
/**
 * Context folders: every folder of src/ that is not a layer, and each algorithm under src/algorithms/,
 * so a new context is guarded as soon as its folder exists. Outside its folder a context is imported
 * only through its index.ts.
 */
const CONTEXTS = folders('./src/')
  .filter((f) => !['core', 'storage', ...OUTER].includes(f))
  .flatMap((f) => (f === 'algorithms' ? folders('./src/algorithms/').map((a) => `algorithms/${a}`) : [f]));
/** Tests and their fixtures may reach any internals. */
const TEST_FILES = ['src/**/*.test.ts', 'src/**/test-support/**'];

const deepImport = (context) => ({
  group: [`**/${context}/*`, `!**/${context}/index.js`],
  message: `Import the ${context} context through its index.ts only (docs/architecture.md: context boundaries).`,
});
const layerImport = (folder, from) => ({
  group: [`**/${folder}/*`],
  message: `${from} must not depend on src/${folder} (docs/architecture.md: layers point down only).`,
});
const restrict = (files, patterns) => ({ files, ignores: TEST_FILES, rules: { 'no-restricted-imports': ['error', { patterns }] } });

/** One block per zone: a later block for the same file would replace, not extend, the rule's patterns. */
export const boundaryRules = [
  restrict(['src/core/**'], [...['storage', ...CONTEXTS, ...OUTER].map((f) => layerImport(f, 'core'))]),
  restrict(['src/storage/**'], [...[...CONTEXTS, ...OUTER].map((f) => layerImport(f, 'storage'))]),
  ...CONTEXTS.map((context) =>
    restrict(
      [`src/${context}/**`],
      [...CONTEXTS.filter((c) => c !== context && !context.startsWith(`${c}/`)).map(deepImport), ...OUTER.map((f) => layerImport(f, `the ${context} context`))],
    ),
  ),
  restrict([...OUTER.map((f) => `src/${f}/**`), 'src/index.ts'], CONTEXTS.map(deepImport)),
  {
    // The outer layers ask a context's service; tables belong to the context (or storage) that owns them.
    files: OUTER.map((f) => `src/${f}/**`),
    ignores: TEST_FILES,
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'CallExpression[callee.property.name=/^(selectFrom|insertInto|updateTable|deleteFrom)$/]',
          message: 'The server, CLI, SDK and platform read no table: ask the owning context service (docs/architecture.md).',
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.capstan/**', 'console/dist/**', 'examples/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...boundaryRules,
  {
    files: ['bin/**/*.js', 'scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
