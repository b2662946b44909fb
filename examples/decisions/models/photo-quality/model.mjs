// Request: {"pixels": [64 grayscale values 0..255]} (an 8x8 thumbnail) or {"instances": [...]};
// response: {"predictions": [{"quality": 0..1, "brightness": mean, "contrast": std}]}.
export function preprocess(body) {
  return Array.isArray(body?.instances) ? body.instances : [body];
}

export function predict(_model, rows) {
  const predictions = rows.map(({ pixels }) => {
    if (!Array.isArray(pixels) || pixels.length !== 64) throw new Error('pixels must be 64 grayscale values (an 8x8 thumbnail)');
    const mean = pixels.reduce((a, b) => a + b, 0) / 64;
    const std = Math.sqrt(pixels.reduce((a, b) => a + (b - mean) ** 2, 0) / 64);
    const exposure = mean < 40 || mean > 220 ? 0.3 : 1;
    const quality = exposure / (1 + Math.exp(-(std - 20) / 8));
    return { quality: Math.round(quality * 1e6) / 1e6, brightness: Math.round(mean), contrast: Math.round(std) };
  });
  return { predictions };
}
