"""Scores the held-out set with the trained package and writes the `metrics` property file the condition step reads."""
import json
import os
import pickle

import numpy as np

from common import auc, input_dir, load_csv, output_dir

with open(os.path.join(input_dir("model"), "model.pkl"), "rb") as f:
    clf = pickle.load(f)
x, y = load_csv(os.path.join(input_dir("test"), "test.csv"))
p = clf.predict_proba(x)[:, 1]
pred = p >= 0.5
tp = float(np.sum(pred & (y == 1)))
precision = tp / max(float(pred.sum()), 1.0)
recall = tp / max(float((y == 1).sum()), 1.0)
metrics = {"auc": round(auc(y, p), 5), "precision": round(precision, 5), "recall": round(recall, 5), "test_rows": int(len(y))}
os.makedirs(output_dir("evaluation"), exist_ok=True)
with open(os.path.join(output_dir("evaluation"), "metrics.json"), "w") as f:
    json.dump(metrics, f, indent=2)
print(f"auc={metrics['auc']} precision={metrics['precision']} recall={metrics['recall']}")
