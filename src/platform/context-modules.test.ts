import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import { Type } from 'typebox';
import type { BackgroundService } from '../core/background-service.js';
import { isCapstanError } from '../core/errors.js';
import { buildApp, type CapstanApp } from '../server/app.js';
import { defineContext } from '../storage/context-module.js';
import { contextModules } from './contexts.js';
import { collectMigrations } from './migrations.js';
import { openTestPlatform, type TestPlatform } from './test-support/test-platform.js';

/** A context the way docs/architecture.md tells a newcomer to write one: a table, a service, a job, a background service, a route. */
function notesContext(log: string[]) {
  const ticker: BackgroundService = { name: 'notes-ticker', start: async () => void log.push('start'), stop: async () => void log.push('stop') };
  return defineContext<{ add(text: string): Promise<void>; list(): Promise<string[]> }>({
    name: 'notes',
    migrations: {
      '0900_notes': {
        up: async (db: Kysely<any>) => void (await db.schema.createTable('notes').addColumn('text', 'text', (c) => c.notNull()).execute()),
      },
    },
    create: ({ db, use }) => {
      // Another context's service, through its module name: the registry is installed too.
      const registry = () => use<{ listModels(): Promise<unknown[]> }>('registry');
      return {
        service: {
          add: async (text) => void (await db.kysely.insertInto('notes').values({ text }).execute()),
          list: async () => {
            await registry().listModels();
            return (await db.kysely.selectFrom('notes').select('text').execute()).map((r) => r.text as string);
          },
        },
        jobHandlers: new Map([['notes.tidy', async () => undefined]]),
        background: [ticker],
        close: () => void log.push('close'),
      };
    },
    routes: [
      async (app, { service }) => {
        app.get('/api/v1/notes', { config: { access: 'viewer' }, schema: { tags: ['notes'], summary: 'List notes', response: { 200: Type.Object({ notes: Type.Array(Type.String()) }) } } }, async () => ({ notes: await service.list() }));
      },
    ],
  });
}

describe('context modules', () => {
  const log: string[] = [];
  let t: TestPlatform;
  let app: CapstanApp;
  before(async () => {
    t = await openTestPlatform({}, { contexts: [...contextModules, notesContext(log)] });
    app = await buildApp(t.platform);
  });
  after(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('keeps the applied migration names and order of existing databases', () => {
    assert.deepEqual(Object.keys(collectMigrations()), ['0001_foundation', '0002_registry', '0003_pipelines', '0004_serving', '0005_unique_key_names', '0006_webhook_deliveries', '0007_pipeline_fencing', '0008_model_registrations', '0009_outbox', '0010_serving_variant_stats', '0011_features', '0012_rollouts', '0013_batch', '0014_decisions', '0015_gitops', '0018_rollout_feedback', '0021_notifications', '0025_sigv4_keys', '0028_deployment_lineage', '0029_rollout_score_histograms', '0030_record_time_id_index', '0031_metric_rollups', '0032_record_replay_projection', '0033_feature_leases', '0034_console_sessions']);
  });

  it("installs a context added to the list: its migration, service, job handler, background service and routes", async () => {
    const notes = t.platform.context<{ add(text: string): Promise<void> }>('notes');
    await notes.add('first');
    assert.ok(t.platform.jobHandlers.has('notes.tidy'));
    assert.ok(t.platform.jobHandlers.has('webhook.deliver'), 'the registry still contributes its handler');
    // The outbox dispatcher starts after every context's services and stops before them.
    assert.deepEqual(t.platform.background.map((s) => s.name).slice(-2), ['notes-ticker', 'outbox-dispatcher']);
    assert.deepEqual(t.platform.contexts.map((c) => c.name), ['auth', 'serving', 'registry', 'pipelines', 'rollouts', 'batch', 'features', 'decisions', 'gitops', 'notifications', 'notes']);
    const res = await app.inject({ method: 'GET', url: '/api/v1/notes' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { notes: ['first'] });
  });

  it("runs a context's cleanup when the platform closes", async () => {
    const other = await openTestPlatform({}, { contexts: [notesContext(log)] });
    await other.dispose();
    assert.deepEqual(log, ['close']);
  });

  it('answers CAPSTAN_CONFIG_CONTEXT_MISSING when a context asks for one that is not installed', async () => {
    const alone = await openTestPlatform({}, { contexts: [notesContext([])] });
    try {
      await assert.rejects(alone.platform.context<{ list(): Promise<string[]> }>('notes').list(), (err) => isCapstanError(err) && err.code === 'CAPSTAN_CONFIG_CONTEXT_MISSING' && /registry/.test(err.message));
      assert.throws(() => alone.platform.serving, (err) => isCapstanError(err) && err.code === 'CAPSTAN_CONFIG_CONTEXT_MISSING');
    } finally {
      await alone.dispose();
    }
  });

  it('refuses two contexts claiming one migration name, before opening anything', () => {
    const twin = { ...notesContext([]), name: 'twin' };
    assert.throws(() => collectMigrations([notesContext([]), twin]), (err) => isCapstanError(err) && err.code === 'CAPSTAN_CONFIG_CONTEXT_DUPLICATE' && /0900_notes/.test(err.message));
    assert.throws(() => collectMigrations([{ ...twin, migrations: { '0001_foundation': twin.migrations['0900_notes'] } }]), (err) => isCapstanError(err) && /0001_foundation is claimed by both storage and twin/.test(err.message));
  });
});
