import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runningInCi } from '../../src/core/config.js';
import { startS3TestServer, type S3TestServer } from '../../src/storage/test-support/s3-test-server.js';
import { testDatabases, type TestDatabase } from '../../src/storage/test-support/test-databases.js';
import { capstanShellCommand, cleanEnv, cliJson, runCapstan } from '../support/capstan-cli.js';
import { pythonProblem, pythonWith } from '../support/python-interpreter.js';

// examples/fraud-python/run-with-features.sh as a user runs it: definitions, generated transactions,
// ingestion, the pipeline on a point-in-time training set, materialization, an endpoint reading the
// same features online. On SQLite + a directory, and on PostgreSQL + S3 (s3rver).
const root = fileURLToPath(new URL('../..', import.meta.url));

const interpreter = pythonWith(['numpy', 'sklearn']);

function runScript(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [path.join(root, 'examples/fraud-python/run-with-features.sh')], {
      cwd: root,
      env: cleanEnv({ ...env, ROWS: '3000', PYTHON: interpreter ?? 'python3', CAPSTAN: capstanShellCommand() }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const python = interpreter ? undefined : pythonProblem(['numpy', 'sklearn'], 'python3-sklearn');
if (python && runningInCi()) throw new Error(`CI=true and ${python}: the fraud feature-store example must run in CI`);
const pg = (await testDatabases()).find((f) => f.name === 'postgres')!;

for (const setup of ['sqlite', 'postgres-s3'] as const) {
  const skip = python ?? (setup === 'postgres-s3' ? pg.skip : undefined);
  describe(`fraud example on the feature store (${setup})`, { skip }, () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'capstan-fraud-features-'));
    const env: Record<string, string> = { CAPSTAN_HOME: home };
    let s3: S3TestServer | undefined;
    let database: TestDatabase | undefined;
    before(async () => {
      if (setup === 'postgres-s3') {
        s3 = await startS3TestServer();
        database = await pg.create();
        Object.assign(env, {
          CAPSTAN_DATABASE_URL: database.url,
          CAPSTAN_ARTIFACTS: `s3://${await s3.createBucket()}/capstan`,
          CAPSTAN_S3_ENDPOINT: s3.s3.endpoint!,
          CAPSTAN_S3_FORCE_PATH_STYLE: 'true',
          CAPSTAN_S3_ACCESS_KEY_ID: s3.s3.accessKeyId!,
          CAPSTAN_S3_SECRET_ACCESS_KEY: s3.s3.secretAccessKey!,
        });
      }
    });
    after(async () => {
      await database?.dispose();
      await s3?.dispose();
      rmSync(home, { recursive: true, force: true });
    });

    it('trains on a point-in-time training set and scores with the same features online', async () => {
      const run = await runScript(env);
      assert.equal(run.code, 0, `${run.stderr}\n${run.stdout.slice(-3000)}`);
      assert.match(run.stdout, /source=feature-store|SUCCEEDED/);
      const score = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('[')));
      assert.equal(typeof score[0].fraud_probability, 'number');
      const version = cliJson(await runCapstan(['models', 'show', 'models:/fraud-detector-features/1', '--json'], { env, cwd: root }));
      assert.match(JSON.stringify(version), /"preprocess\.features\.training":"sha256:[0-9a-f]{64}"/, 'the training set digest is lineage of the model version');
    });
  });
}
