"""Generates the fraud example's synthetic card transactions for the feature store.

Writes three CSV files to --out:
  transactions.csv   the entity table: card_id, merchant_id, event_timestamp, per-transaction fields, is_fraud
  card_activity.csv  rows of feature group card_activity (card_id, event_time, tx_last_24h)
  merchants.csv      rows of feature group merchants (merchant_id, event_time, scored_at, merchant_risk)

The distributions are those of preprocessing.py; the card and merchant features now come from the
feature store, joined point-in-time, instead of living in the transaction rows.
Usage: python3 generate_transactions.py --out DIR [--rows 20000] [--seed 7] [--fraud-rate 0.03] [--end ISO]
"""
import argparse
import csv
import os
from datetime import datetime, timedelta, timezone

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--rows", type=int, default=20000)
p.add_argument("--seed", type=int, default=7)
p.add_argument("--fraud-rate", type=float, default=0.03)
p.add_argument("--end", default=None, help="time of the last transaction (ISO); default now")
a = p.parse_args()

rng = np.random.default_rng(a.seed)
rows = a.rows
end = datetime.fromisoformat(a.end.replace("Z", "+00:00")) if a.end else datetime.now(timezone.utc)
fraud = rng.random(rows) < a.fraud_rate
amount = np.where(fraud, rng.lognormal(5.0, 1.2, rows), rng.lognormal(3.5, 1.0, rows))
hour = np.where(fraud, rng.normal(3, 3, rows) % 24, rng.normal(14, 4, rows) % 24)
merchant_risk = np.clip(np.where(fraud, rng.beta(5, 2, rows), rng.beta(2, 5, rows)), 0, 1)
distance = np.where(fraud, rng.lognormal(4.5, 1.0, rows), rng.lognormal(2.0, 1.0, rows))
foreign = (rng.random(rows) < np.where(fraud, 0.45, 0.05)).astype(float)
card_present = (rng.random(rows) < np.where(fraud, 0.25, 0.8)).astype(float)
tx_24h = rng.poisson(np.where(fraud, 7, 3), rows).astype(float)
flip = rng.random(rows) < 0.003
label = np.where(flip, ~fraud, fraud).astype(int)
# Spread over the 6 days before `end`; whole milliseconds, as the store keeps them.
offsets_ms = np.sort(rng.integers(0, 6 * 86_400_000, rows))[::-1]

os.makedirs(a.out, exist_ok=True)
iso = lambda t: t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
with open(os.path.join(a.out, "transactions.csv"), "w", newline="") as ft, \
     open(os.path.join(a.out, "card_activity.csv"), "w", newline="") as fc, \
     open(os.path.join(a.out, "merchants.csv"), "w", newline="") as fm:
    t, c, m = csv.writer(ft), csv.writer(fc), csv.writer(fm)
    t.writerow(["card_id", "merchant_id", "event_timestamp", "amount_log", "hour_sin", "hour_cos", "distance_km_log", "foreign", "card_present", "is_fraud"])
    c.writerow(["card_id", "event_time", "tx_last_24h"])
    m.writerow(["merchant_id", "event_time", "scored_at", "merchant_risk"])
    for i in range(rows):
        at = end - timedelta(milliseconds=int(offsets_ms[i]))
        card, merchant = f"card-{i:06d}", f"m-{i:06d}"
        t.writerow([card, merchant, iso(at), f"{np.log1p(amount[i]):.6f}", f"{np.sin(hour[i] / 24 * 2 * np.pi):.6f}",
                    f"{np.cos(hour[i] / 24 * 2 * np.pi):.6f}", f"{np.log1p(distance[i]):.6f}", int(foreign[i]), int(card_present[i]), label[i]])
        # The card system updates the count one second before the transaction is scored.
        c.writerow([card, iso(at - timedelta(seconds=1)), f"{tx_24h[i]:.0f}"])
        # The merchant score is valid from an hour before and was computed (known) then, too.
        m.writerow([merchant, iso(at - timedelta(hours=1)), iso(at - timedelta(hours=1)), f"{merchant_risk[i]:.6f}"])
print(f"rows={rows} fraud_share={label.mean():.4f} out={a.out}")
