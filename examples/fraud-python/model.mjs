// Inference handler of the fraud model package (framework "js"): standardise, then logistic regression.
// Request: {"instances": [{"amount_log": …, …}]} or a single object; response: fraud probabilities.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function load(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'weights.json'), 'utf8'));
}

export function preprocess(body) {
  return Array.isArray(body?.instances) ? body.instances : [body];
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
