import { CapstanError } from '../core/errors.js';
import type { LiveEndpoint, LiveVariant } from './endpoint-host.js';
import { MultiModelPool } from './multi-model-pool.js';
import type { TrafficContext } from './traffic-policy.js';

/** How the host picks a variant from the target variant and the traffic policy. */
type PickVariant = (ep: LiveEndpoint, target: string | undefined, traffic: TrafficContext) => LiveVariant;

const isMulti = (v: LiveVariant) => v.pool instanceof MultiModelPool;

/** The variant that should answer when the endpoint may hold both kinds: the first of the fitting kind that takes traffic. */
function firstOfKind(ep: LiveEndpoint, multi: boolean): LiveVariant | undefined {
  const fitting = ep.variants.filter((v) => isMulti(v) === multi && !v.config.shadowPercent);
  return fitting.find((v) => v.weight > 0) ?? fitting[0];
}

/**
 * Routing on an endpoint with multi-model variants, or for a request naming a target model. A target
 * variant is honoured as given (a target model it cannot serve answers 404 naming the model). Otherwise
 * the traffic policy chooses; when its choice does not fit the request — a target model for a
 * single-model variant, or none for a multi-model one — the first variant of the fitting kind answers.
 */
export function pickVariantForModel(ep: LiveEndpoint, targetVariant: string | undefined, traffic: TrafficContext, targetModel: string | undefined, pick: PickVariant): LiveVariant {
  const wantMulti = targetModel !== undefined;
  if (targetVariant !== undefined) {
    const v = pick(ep, targetVariant, traffic);
    if (wantMulti && !isMulti(v)) throw noTargetModel(ep.name, targetModel, `variant ${v.name} serves one model, so leave the target model out`);
    return v;
  }
  const chosen = pick(ep, undefined, traffic);
  if (isMulti(chosen) === wantMulti) return chosen;
  const other = firstOfKind(ep, wantMulti);
  if (other) return other;
  if (wantMulti) throw noTargetModel(ep.name, targetModel, 'its variants serve one model each, so leave the target model out');
  // Only multi-model variants: the chosen one answers the error that names the missing header.
  return chosen;
}

function noTargetModel(endpoint: string, targetModel: string, why: string): CapstanError {
  return new CapstanError('CAPSTAN_SERVING_TARGET_MODEL_NOT_FOUND', `endpoint ${endpoint} hosts no target model ${targetModel}; ${why}`, { fields: { endpoint, targetModel } });
}
