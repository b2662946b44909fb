// Request: {"amount": 120, "avg_amount_30d": 80, "std_amount_30d": 30} (or {"instances": [...]});
// response: {"predictions": [{"anomaly": 0..1}]}: 0.5 at two standard deviations above the average.
export function preprocess(body) {
  return Array.isArray(body?.instances) ? body.instances : [body];
}

export function predict(_model, rows) {
  const predictions = rows.map((r) => {
    const avg = Number(r.avg_amount_30d ?? r.amount ?? 0);
    const std = Math.max(Number(r.std_amount_30d ?? 0), 1, avg * 0.1);
    const z = (Number(r.amount ?? 0) - avg) / std;
    return { anomaly: Math.round((1 / (1 + Math.exp(-(z - 2)))) * 1e6) / 1e6 };
  });
  return { predictions };
}
