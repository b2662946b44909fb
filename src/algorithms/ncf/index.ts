/**
 * The NCF algorithm's public surface for the CLI and the demo: hyperparameter flags, ratings
 * formats, synthetic data, and the trainer, which loads lazily (it pulls TensorFlow.js in).
 */
export { parseHyperparameterFlags, type NcfHyperparameters } from './hyperparameters.js';
export { parseRatingsFormat, ratingsFormats, type RatingsFormat } from './ratings-reader.js';
export { synthCsv, synthesize, type SynthData, type SynthOptions } from './synth.js';
export type { BatchProgress } from './trainer.js';
export type { NcfTrainRequest, NcfTrainSummary } from './train-ncf.js';

/** Loads the NCF trainer on first use, so commands that do not train start without TensorFlow.js. */
export function loadNcfTrainer(): Promise<typeof import('./train-ncf.js')> {
  return import('./train-ncf.js');
}
export { ncfRankingHandlerModule } from './ncf-handler-module.js';
