/**
 * The port through which a `features` task reads online features. The types come from the features
 * context (type-only, so nothing of it loads here); the decisions context still runs without it,
 * because the platform's `features` service is resolved lazily, when a features task first runs.
 */
import type { FeatureService } from '../features/index.js';

/** What a features task needs of the features context: its online read. */
export type FeatureReader = Pick<FeatureService, 'readOnline'>;
