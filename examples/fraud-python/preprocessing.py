"""Generates a card-transactions dataset with a known fraud pattern, then splits and standardises it."""
import json
import os

import numpy as np

from common import FEATURES, hyperparameters, output_dir, save_csv

hp = hyperparameters()
rows = int(hp.get("rows", 20000))
fraud_rate = float(hp.get("fraud_rate", 0.03))
rng = np.random.default_rng(int(hp.get("seed", 7)))

fraud = rng.random(rows) < fraud_rate
amount = np.where(fraud, rng.lognormal(5.0, 1.2, rows), rng.lognormal(3.5, 1.0, rows))
hour = np.where(fraud, rng.normal(3, 3, rows) % 24, rng.normal(14, 4, rows) % 24)
merchant_risk = np.clip(np.where(fraud, rng.beta(5, 2, rows), rng.beta(2, 5, rows)), 0, 1)
distance = np.where(fraud, rng.lognormal(4.5, 1.0, rows), rng.lognormal(2.0, 1.0, rows))
foreign = (rng.random(rows) < np.where(fraud, 0.45, 0.05)).astype(float)
card_present = (rng.random(rows) < np.where(fraud, 0.25, 0.8)).astype(float)
tx_24h = rng.poisson(np.where(fraud, 7, 3), rows).astype(float)
# Label noise keeps the problem honest: a perfect model is impossible.
flip = rng.random(rows) < 0.003
label = np.where(flip, ~fraud, fraud).astype(float)

x = np.column_stack([
    np.log1p(amount), np.sin(hour / 24 * 2 * np.pi), np.cos(hour / 24 * 2 * np.pi), merchant_risk,
    np.log1p(distance), foreign, card_present, tx_24h,
])
order = rng.permutation(rows)
x, label = x[order], label[order]
cut = int(rows * 0.8)
mean, std = x[:cut].mean(axis=0), x[:cut].std(axis=0) + 1e-9
x = (x - mean) / std

os.makedirs(output_dir("train"), exist_ok=True)
os.makedirs(output_dir("test"), exist_ok=True)
save_csv(os.path.join(output_dir("train"), "train.csv"), x[:cut], label[:cut])
save_csv(os.path.join(output_dir("test"), "test.csv"), x[cut:], label[cut:])
with open(os.path.join(output_dir("train"), "scaler.json"), "w") as f:
    json.dump({"features": FEATURES, "mean": mean.tolist(), "std": std.tolist()}, f)
print(f"rows={rows} train={cut} test={rows - cut} fraud_share={label.mean():.4f}")
