// Inference handler of the fraud model package (framework "js"): standardise, then logistic regression.
// Request: {"instances": [{"amount_log": …, …}]} or a single object; response: fraud probabilities.
// The decisions example's copy also takes raw fields (amount, hour, distance_km, booleans) and derives
// the trained features from them, since CEL (the use case's language) has no log or trigonometry.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function load(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'weights.json'), 'utf8'));
}

function derive(row) {
  const out = { ...row };
  if (out.amount_log === undefined && row.amount !== undefined) out.amount_log = Math.log1p(Number(row.amount));
  if (out.hour_sin === undefined && row.hour !== undefined) out.hour_sin = Math.sin((2 * Math.PI * Number(row.hour)) / 24);
  if (out.hour_cos === undefined && row.hour !== undefined) out.hour_cos = Math.cos((2 * Math.PI * Number(row.hour)) / 24);
  if (out.distance_km_log === undefined && row.distance_km !== undefined) out.distance_km_log = Math.log1p(Number(row.distance_km));
  for (const k of ['foreign', 'card_present']) if (typeof out[k] === 'boolean') out[k] = out[k] ? 1 : 0;
  return out;
}

export function preprocess(body) {
  return (Array.isArray(body?.instances) ? body.instances : [body]).map(derive);
}

export function predict(model, instances) {
  return instances.map((row) => {
    let z = model.bias;
    model.features.forEach((f, i) => {
      z += model.weights[i] * ((Number(row[f] ?? model.mean[i]) - model.mean[i]) / model.std[i]);
    });
    return { fraud_probability: 1 / (1 + Math.exp(-z)) };
  });
}
