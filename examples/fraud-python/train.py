"""Trains logistic regression by full-batch gradient descent and writes a `js` model package."""
import json
import os
import shutil

import numpy as np

from common import FEATURES, auc, hyperparameters, input_dir, load_csv, model_dir, sigmoid

hp = hyperparameters()
epochs = int(hp.get("epochs", 300))
lr = float(hp.get("learning_rate", 0.5))
x, y = load_csv(os.path.join(input_dir("train"), "train.csv"))
# Fraud is rare: weight positives so the loss does not ignore them.
pos_weight = (len(y) - y.sum()) / max(y.sum(), 1)
sample_w = np.where(y == 1, pos_weight, 1.0)
sample_w = sample_w / sample_w.mean()

w = np.zeros(x.shape[1])
b = 0.0
for epoch in range(1, epochs + 1):
    p = sigmoid(x @ w + b)
    grad = (p - y) * sample_w
    w -= lr * (x.T @ grad) / len(y)
    b -= lr * grad.mean()
    if epoch % 25 == 0 or epoch == epochs:
        p = sigmoid(x @ w + b)
        loss = -np.mean(sample_w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12)))
        print(f"epoch={epoch}; loss={loss:.5f}; train_auc={auc(y, p):.4f};", flush=True)

out = model_dir()
scaler = json.load(open(os.path.join(input_dir("train"), "scaler.json")))
with open(os.path.join(out, "weights.json"), "w") as f:
    json.dump({"features": FEATURES, "weights": w.tolist(), "bias": b, "mean": scaler["mean"], "std": scaler["std"]}, f, indent=2)
shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.mjs"), os.path.join(out, "model.mjs"))
with open(os.path.join(out, "model.json"), "w") as f:
    json.dump({
        "name": "fraud-detector",
        "framework": "js",
        "entry": "model.mjs",
        "signature": {
            "inputs": [{"name": f, "dtype": "float64"} for f in FEATURES],
            "outputs": [{"name": "fraud_probability", "dtype": "float64"}],
        },
        "metadata": {"algorithm": "logistic-regression", "epochs": epochs, "learning_rate": lr},
    }, f, indent=2)
print(f"wrote model package with {len(FEATURES)} weights")
