import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));
// The same configuration file `npm run lint` (`eslint .`) reads; files are linted by path, never written.
const eslint = new ESLint({ cwd: root });

/** The boundary messages ESLint reports for `code` as if it were the file at `filePath`. */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const probe = x;\n`, { filePath: `${root}/${filePath}` });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import boundaries (npm run lint)', () => {
  it('refuses a deep import into another context and names the index.ts to use instead', async () => {
    const errors = await boundaryErrors('src/serving/probe.ts', "import { x } from '../registry/local-registry.js';");
    assert.equal(errors.length, 1);
    assert.match(errors[0], /Import the registry context through its index\.ts only/);
  });

  it("accepts an import of another context's index.ts, and any import inside a context", async () => {
    assert.deepEqual(await boundaryErrors('src/serving/probe.ts', "import { x } from '../registry/index.js';"), []);
    assert.deepEqual(await boundaryErrors('src/serving/http/probe.ts', "import { x } from '../endpoint-host.js';"), []);
  });

  it('refuses deep imports from nested folders, re-exports and type-only imports alike', async () => {
    for (const [file, code] of [
      ['src/pipelines/steps/probe.ts', "import type { x } from '../../registry/http/registry-schemas.js';"],
      ['src/pipelines/probe.ts', "export { x } from '../serving/endpoint-host.js';"],
      ['src/cli/commands/probe.ts', "import { x } from '../../pipelines/steps/index.js';"],
      ['src/server/probe.ts', "import { x } from '../auth/api-key-store.js';"],
      ['src/cli/probe.ts', "import { x } from '../algorithms/ncf/synth.js';"],
    ]) {
      assert.equal((await boundaryErrors(file, code)).length, 1, `${file}: ${code}`);
    }
  });

  it('refuses an import that points up the layers (core → storage, storage → a context, a context → server/platform)', async () => {
    assert.match((await boundaryErrors('src/core/probe.ts', "import { x } from '../storage/database.js';"))[0], /core must not depend on src\/storage/);
    assert.match((await boundaryErrors('src/storage/probe.ts', "import { x } from '../registry/index.js';"))[0], /storage must not depend on src\/registry/);
    assert.match((await boundaryErrors('src/registry/probe.ts', "import { x } from '../server/app.js';"))[0], /the registry context must not depend on src\/server/);
    assert.match((await boundaryErrors('src/serving/probe.ts', "import { x } from '../platform/platform.js';"))[0], /the serving context must not depend on src\/platform/);
  });

  it('refuses a table query in the server, CLI, SDK or platform, and allows it inside a context', async () => {
    const query = "import { db } from '../storage/index.js';\nconst x = await db.kysely.selectFrom('endpoints').selectAll().execute();";
    const [outer] = await eslint.lintText(`${query}\nexport const probe = x;\n`, { filePath: `${root}/src/server/probe.ts` });
    assert.match(outer.messages.find((m) => m.ruleId === 'no-restricted-syntax')?.message ?? '', /read no table/);
    const [inner] = await eslint.lintText(`${query}\nexport const probe = x;\n`, { filePath: `${root}/src/serving/probe.ts` });
    assert.equal(inner.messages.filter((m) => m.ruleId === 'no-restricted-syntax').length, 0);
  });

  it('lets tests and test support reach internals', async () => {
    assert.deepEqual(await boundaryErrors('src/serving/probe.test.ts', "import { x } from '../registry/local-registry.js';"), []);
    assert.deepEqual(await boundaryErrors('src/storage/test-support/probe.ts', "import { x } from '../../platform/migrations.js';"), []);
  });

  it('makes the eslint command exit non-zero on a cross-context deep import', () => {
    const run = spawnSync(process.execPath, ['node_modules/eslint/bin/eslint.js', '--stdin', '--stdin-filename', 'src/serving/probe.ts'], {
      cwd: root,
      input: "import { x } from '../registry/local-registry.js';\nexport const probe = x;\n",
      encoding: 'utf8',
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stdout, /no-restricted-imports/);
  });

  it('finds no boundary violation in the sources as they are', async () => {
    const results = await eslint.lintFiles(['src']);
    const violations = results.flatMap((r) => r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => `${r.filePath}:${m.line} ${m.message}`));
    assert.deepEqual(violations, []);
  });
});
