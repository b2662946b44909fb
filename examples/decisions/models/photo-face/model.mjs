// Request: {"pixels": [64 values]} (an 8x8 grayscale thumbnail); response: {"predictions": [{"face": 0..1}]}.
// Four hand-made features (a bright centre, darker border, contrast, a darker eye row) and shipped weights.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function load(dir) {
  return JSON.parse(readFileSync(path.join(dir, 'weights.json'), 'utf8'));
}

export function preprocess(body) {
  return Array.isArray(body?.instances) ? body.instances : [body];
}

function features(p) {
  const at = (r, c) => p[r * 8 + c];
  const center = [];
  const border = [];
  for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) (r >= 2 && r <= 5 && c >= 2 && c <= 5 ? center : border).push(at(r, c));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cm = mean(center);
  const contrast = Math.sqrt(mean(center.map((x) => (x - cm) ** 2)));
  const eyeRow = mean([at(3, 2), at(3, 5)]);
  return [cm, mean(border), contrast, cm - eyeRow];
}

export function predict(model, rows) {
  const predictions = rows.map(({ pixels }) => {
    if (!Array.isArray(pixels) || pixels.length !== 64) throw new Error('pixels must be 64 grayscale values (an 8x8 thumbnail)');
    const x = features(pixels);
    const z = model.bias + x.reduce((s, v, i) => s + v * model.weights[i], 0);
    return { face: Math.round((1 / (1 + Math.exp(-z))) * 1e6) / 1e6 };
  });
  return { predictions };
}
