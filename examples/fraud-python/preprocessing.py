"""Generates a card-transactions dataset with a known fraud pattern, then splits and standardises it."""
import csv
import json
import os
import sys

import numpy as np

from common import FEATURES, fail_permanently, hyperparameters, output_dir, save_csv

hp = hyperparameters()
rows = int(hp.get("rows", 20000))
fraud_rate = float(hp.get("fraud_rate", 0.03))
rng = np.random.default_rng(int(hp.get("seed", 7)))
# With a `features:` input (features-pipeline.yaml), the rows are the point-in-time training set the
# feature store built: transaction fields plus card and merchant features as known at each transaction.
training_set = os.path.join(os.environ.get("CAPSTAN_INPUT_DIR", ""), "training", "training-set.csv")


def from_training_set(path):
    with open(path, newline="") as f:
        records = list(csv.DictReader(f))
    if not records:
        fail_permanently("the training set is empty")
    missing = [r["card_id"] for r in records if r["tx_last_24h"] == "" or r["merchant_risk"] == ""]
    if len(missing) > len(records) * 0.01:
        fail_permanently(f"{len(missing)} rows lack store features (expired or never ingested); ingest the feature files first")
    records = [r for r in records if r["tx_last_24h"] != "" and r["merchant_risk"] != ""]
    return np.array([[float(r[f]) for f in FEATURES] for r in records]), np.array([float(r["is_fraud"]) for r in records])


if os.path.exists(training_set):
    x, label = from_training_set(training_set)
    rows = len(label)
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
    print(f"rows={rows} train={cut} test={rows - cut} fraud_share={label.mean():.4f} source=feature-store")
    sys.exit(0)

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
