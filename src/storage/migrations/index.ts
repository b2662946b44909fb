import type { Migration } from 'kysely';
import { foundation } from './0001-foundation.js';
import { registry } from './0002-registry.js';
import { pipelines } from './0003-pipelines.js';
import { serving } from './0004-serving.js';
import { uniqueKeyNames } from './0005-unique-key-names.js';
import { webhookDeliveries } from './0006-webhook-deliveries.js';
import { pipelineFencing } from './0007-pipeline-fencing.js';
import { modelRegistrations } from './0008-model-registrations.js';
import { servingVariantStats } from './0009-serving-variant-stats.js';

/**
 * Every migration, by name; names sort in the order they apply. Each context adds its own file
 * (`0002-registry.ts`, `0003-pipelines.ts`, …) and one line here. Applied migrations never change.
 */
export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_registry': registry,
  '0003_pipelines': pipelines,
  '0004_serving': serving,
  '0005_unique_key_names': uniqueKeyNames,
  '0006_webhook_deliveries': webhookDeliveries,
  '0007_pipeline_fencing': pipelineFencing,
  '0008_model_registrations': modelRegistrations,
  '0009_serving_variant_stats': servingVariantStats,
};
