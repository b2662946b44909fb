// Request: {"pixels": [64 values], "skin_ratio": 0..1}; response: {"predictions": [{"nsfw": 0..1}]}.
// Features: a 4-bin intensity histogram (shares) and the skin-tone ratio; weights ship with the package.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function load(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'weights.json'), 'utf8'));
}

export function preprocess(body) {
  return Array.isArray(body?.instances) ? body.instances : [body];
}

export function predict(model, rows) {
  const predictions = rows.map(({ pixels, skin_ratio: skin = 0 }) => {
    if (!Array.isArray(pixels) || pixels.length !== 64) throw new Error('pixels must be 64 grayscale values (an 8x8 thumbnail)');
    const hist = new Array(model.bins).fill(0);
    for (const v of pixels) hist[Math.min(model.bins - 1, Math.floor((v / 256) * model.bins))] += 1 / 64;
    const z = model.bias + hist.reduce((s, h, i) => s + h * model.weights[i], 0) + model.skin_weight * Number(skin);
    return { nsfw: Math.round((1 / (1 + Math.exp(-z))) * 1e6) / 1e6 };
  });
  return { predictions };
}
