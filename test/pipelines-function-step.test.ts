import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../src/storage/test-support/test-databases.js';
import { pipelinesFixture, type PipelinesFixture } from './pipelines-support.js';

const step = (exec: { steps: { name: string }[] }, name: string) => exec.steps.find((s) => s.name === name)! as any;

/** The function modules, written into the pipeline's code directory (`fn-code`, beside the YAML). */
const MODULES: Record<string, string> = {
  // Reads the upstream output through its file:// URI (the local store) and a property of it.
  'count.mjs': `import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function handler(event, { log }) {
  const rows = readFileSync(fileURLToPath(event.args.data) + '/rows.txt', 'utf8').trim().split('\\n');
  log('counted ' + rows.length + ' rows, score ' + event.args.score);
  return {
    rows: rows.length,
    decision: rows.length >= event.params.min_rows ? 'go' : 'stop',
    score: event.args.score,
    execution: event.execution,
  };
}
`,
  // A TypeScript module with a named (non-default) handler; Capstan runs under tsx here.
  'scale.ts': `interface Event { args: { rows: number; factor: number } }
export function scale(event: Event): { scaled: number } {
  return { scaled: event.args.rows * event.args.factor };
}
`,
  'explode.mjs': `import { appendFileSync } from 'node:fs';
export async function handler(event, { log }) {
  appendFileSync(event.args.counter, 'x');
  log('about to fail');
  const err = new RangeError('no rows to score in ' + event.args.what);
  err.code = 'E_NO_ROWS';
  throw err;
}
`,
  'throws-sync.js': `export function handler() { throw new Error('synchronous failure'); }\n`,
  'hang.mjs': `export const handler = () => new Promise(() => {});\n`,
  // Imports a package installed where Capstan runs.
  'uses-package.mjs': `import YAML from 'yaml';\nexport const handler = (event) => ({ parsed: YAML.parse(event.args.text) });\n`,
  // Blocks its thread for good: only terminating the thread stops it.
  'spin.mjs': `export function handler() { for (;;) {} }\n`,
  // Reports which of the server's variables it can read.
  'env.mjs': `export const handler = () => ({ secret: process.env.CAPSTAN_FN_ENV_PROBE ?? null, hasPath: typeof process.env.PATH === 'string' });\n`,
  'no-handler.mjs': `export function somethingElse() { return {}; }\n`,
  'broken.mjs': `export function handler( {\n`,
  'number.mjs': `export const handler = () => 42;\n`,
  'bad-import.mjs': `import { x } from './lib/missing.mjs';\nexport const handler = () => ({ x });\n`,
};

for (const factory of await testDatabases()) {
  describe(`function steps (${factory.name})`, { skip: factory.skip }, () => {
    let fx: PipelinesFixture;
    before(async () => {
      fx = await pipelinesFixture(factory);
      const code = path.join(fx.dir, 'fn-code');
      mkdirSync(code);
      for (const [file, text] of Object.entries(MODULES)) writeFileSync(path.join(code, file), text);
    });
    after(async () => {
      await fx?.dispose();
    });

    const pipelineWith = (name: string, minRows: number) => `name: ${name}
code: fn-code
parameters:
  min_rows: { type: integer, default: ${minRows} }
steps:
  - name: produce
    type: processing
    command: [sh, -c, 'printf "a\\nb\\nc\\n" > "$CAPSTAN_OUTPUT_DIR/data/rows.txt"; echo "{\\"score\\": 0.75}" > "$CAPSTAN_OUTPUT_DIR/data/p.json"']
    outputs: [data]
    property_files: [{ name: p, output: data, path: p.json }]
  - name: count
    type: function
    module: count.mjs
    args:
      data: \${steps.produce.outputs.data}
      score: \${steps.produce.properties.p.score}
  - name: scale
    type: function
    module: scale.ts
    handler: scale
    args: { rows: "\${steps.count.properties.rows}", factor: 10 }
  - name: gate
    type: condition
    if: steps.count.properties.decision == "go" && steps.scale.properties.scaled == 30
    then: [use]
    else: [stop]
  - name: use
    type: processing
    command: [sh, -c, 'cat "$CAPSTAN_HYPERPARAMETERS"']
    hyperparameters: { rows: "\${steps.count.properties.rows}", decision: "\${steps.count.properties.decision}" }
  - name: stop
    type: fail
    message: "only \${steps.count.properties.rows} rows"
`;

    it('a function step reads an upstream output and property; its return value drives a condition and a later step', async () => {
      const exec = await fx.run(pipelineWith('fn-flow', 3));
      assert.equal(exec.state, 'succeeded', exec.error ?? '');
      const count = step(exec, 'count');
      assert.deepEqual(count.properties, { rows: 3, decision: 'go', score: 0.75, execution: { id: exec.id, pipeline: 'fn-flow' } }, 'the returned object is the step\'s properties');
      assert.equal(count.cached, false, 'function steps are not cached by default');
      assert.deepEqual(step(exec, 'scale').properties, { scaled: 30 }, 'a TypeScript module with a named handler, fed by the first function');
      assert.equal(step(exec, 'gate').properties.result, true);
      assert.equal(step(exec, 'stop').state, 'skipped');
      const countLogs = (await fx.service.executionLogs(exec.id, { step: 'count' })).map((l) => l.line);
      assert.ok(countLogs.includes('counted 3 rows, score 0.75'), `context.log writes the step log: ${countLogs.join(' | ')}`);
      const useLogs = (await fx.service.executionLogs(exec.id, { step: 'use' })).map((l) => l.line).join('\n');
      assert.match(useLogs, /"rows": 3/, 'the returned number arrives typed in a later step');
      assert.match(useLogs, /"decision": "go"/);

      // Same pipeline, a parameter the handler reads: the other branch is taken.
      const low = await fx.run(pipelineWith('fn-flow-low', 5));
      assert.equal(low.state, 'failed');
      assert.equal(step(low, 'count').properties.decision, 'stop');
      assert.equal(step(low, 'gate').properties.result, false);
      assert.equal(step(low, 'use').state, 'skipped');
      assert.deepEqual(step(low, 'stop').error, { code: 'CAPSTAN_PIPELINE_FAIL_STEP', message: 'only 3 rows' });
    });

    it('a handler that throws fails the execution with the error\'s code and message, after the retry policy; downstream is skipped', async () => {
      const counter = path.join(fx.dir, 'explode-count');
      const exec = await fx.run(`name: fn-throws
code: fn-code
steps:
  - name: explode
    type: function
    module: explode.mjs
    retry: { attempts: 2, backoff: 10ms }
    args: { what: batch-7, counter: ${JSON.stringify(counter)} }
  - { name: after, type: processing, command: "true", depends_on: [explode] }
`);
      assert.equal(exec.state, 'failed');
      const s = step(exec, 'explode');
      assert.equal(s.state, 'failed');
      assert.equal(s.error.code, 'CAPSTAN_PIPELINE_FUNCTION_FAILED', s.error.message);
      assert.equal(s.error.message, 'step "explode": the handler threw RangeError (E_NO_ROWS): no rows to score in batch-7');
      assert.equal(s.attempts, 2, 'an error of the handler is retried like a failed command');
      assert.equal(exec.error, `step "explode" failed: ${s.error.message}`);
      assert.equal(step(exec, 'after').state, 'skipped', 'nothing downstream runs');
      const lines = (await fx.service.executionLogs(exec.id, { step: 'explode' })).map((l) => l.line);
      assert.ok(lines.includes('about to fail'), 'what the handler logged before throwing is kept');

      const sync = await fx.run(`name: fn-throws-sync
code: fn-code
steps:
  - { name: s, type: function, module: throws-sync.js }
`);
      assert.deepEqual(step(sync, 's').error, { code: 'CAPSTAN_PIPELINE_FUNCTION_FAILED', message: 'step "s": the handler threw Error: synchronous failure' });
    });

    it('a handler that outlives its timeout fails the step with CAPSTAN_PIPELINE_STEP_TIMEOUT', async () => {
      const exec = await fx.run(`name: fn-hangs\ncode: fn-code\nsteps:\n  - { name: s, type: function, module: hang.mjs, timeout: 200ms }\n`);
      assert.equal(exec.state, 'failed');
      assert.deepEqual(step(exec, 's').error, { code: 'CAPSTAN_PIPELINE_STEP_TIMEOUT', message: 'step "s" ran longer than 200 ms' });
    });

    it('resolves bare imports from the packages installed where Capstan runs', async () => {
      const exec = await fx.run(`name: fn-package\ncode: fn-code\nsteps:\n  - { name: s, type: function, module: uses-package.mjs, args: { text: "a: 1" } }\n`);
      assert.equal(exec.state, 'succeeded', JSON.stringify(step(exec, 's').error));
      assert.deepEqual(step(exec, 's').properties.parsed, { a: 1 });
    });

    it("gives a handler the host variables a command step gets, not the server's secrets", async () => {
      process.env.CAPSTAN_FN_ENV_PROBE = 'server-secret';
      try {
        const exec = await fx.run(`name: fn-env\ncode: fn-code\nsteps:\n  - { name: s, type: function, module: env.mjs }\n`);
        assert.equal(exec.state, 'succeeded', JSON.stringify(step(exec, 's').error));
        assert.deepEqual(step(exec, 's').properties, { secret: null, hasPath: true });
      } finally {
        delete process.env.CAPSTAN_FN_ENV_PROBE;
      }
    });

    it('stops a handler stuck in a synchronous loop at its timeout, while the scheduler keeps running other steps', async () => {
      const exec = await fx.run(`name: fn-spins
code: fn-code
steps:
  - { name: spin, type: function, module: spin.mjs, timeout: 1s }
  - { name: beside, type: processing, cache: false, command: [sh, -c, 'sleep 0.2; echo done'] }
`);
      assert.equal(exec.state, 'failed');
      assert.deepEqual(step(exec, 'spin').error, { code: 'CAPSTAN_PIPELINE_STEP_TIMEOUT', message: 'step "spin" ran longer than 1000 ms' });
      assert.equal(step(exec, 'beside').state, 'succeeded', 'the event loop was not blocked by the spinning handler');
    });

    for (const [title, fields, message] of [
      ['a module that is not in the code directory', 'module: missing.mjs', /^step "s": module missing\.mjs is not in the code directory$/],
      ['a module without the handler export', 'module: no-handler.mjs', /^step "s": no-handler\.mjs exports no function "handler"$/],
      ['a module that names another handler than it exports', 'module: scale.ts\n    handler: handler', /^step "s": scale\.ts exports no function "handler"$/],
      ['a module that does not parse', 'module: broken.mjs', /^step "s": cannot load broken\.mjs: /],
      ['a handler that returns a number', 'module: number.mjs', /^step "s": the handler must return an object or nothing$/],
      ['a module importing a file that is not there (named inside the code directory, not by a server path)', 'module: bad-import.mjs', /^step "s": cannot load bad-import\.mjs: Cannot find module '<code>\/lib\/missing\.mjs' imported from <code>\/bad-import\.mjs$/],
    ] as const) {
      it(`fails with CAPSTAN_PIPELINE_FUNCTION_INVALID, without retrying, for ${title}`, async () => {
        const exec = await fx.run(`name: fn-invalid\ncode: fn-code\nsteps:\n  - name: s\n    type: function\n    retry: { attempts: 3, backoff: 10ms }\n    ${fields}\n  - { name: after, type: processing, command: "true", depends_on: [s] }\n`);
        assert.equal(exec.state, 'failed');
        const s = step(exec, 's');
        assert.equal(s.error.code, 'CAPSTAN_PIPELINE_FUNCTION_INVALID', s.error.message);
        assert.match(s.error.message, message);
        assert.equal(s.attempts, 1, 'retrying cannot fix the module');
        assert.equal(step(exec, 'after').state, 'skipped');
      });
    }

    it('refuses a function step in a pipeline without a code directory when it is applied', async () => {
      await assert.rejects(fx.run(`name: fn-no-code\nsteps:\n  - { name: s, type: function, module: count.mjs }\n`), {
        code: 'CAPSTAN_PIPELINE_INVALID',
        message: /function steps load their module from the "code" directory; set "code"/,
      });
    });
  });
}
