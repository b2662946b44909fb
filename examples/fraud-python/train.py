"""Trains a scikit-learn logistic regression and writes a `python` model package served by inference.py."""
import json
import os
import pickle
import shutil

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

from common import FEATURES, auc, hyperparameters, input_dir, load_csv, model_dir

hp = hyperparameters()
epochs = int(hp.get("epochs", 300))
c = float(hp.get("c", 1.0))
x, y = load_csv(os.path.join(input_dir("train"), "train.csv"))
# Fraud is rare: weight the classes so the loss does not ignore positives.
clf = LogisticRegression(C=c, max_iter=epochs, class_weight="balanced")
clf.fit(x, y)
p = clf.predict_proba(x)[:, 1]
print(f"iterations={int(clf.n_iter_[0])}; loss={log_loss(y, p):.5f}; train_auc={auc(y, p):.4f};", flush=True)

out = model_dir()
with open(os.path.join(out, "model.pkl"), "wb") as f:
    pickle.dump(clf, f)
# The scaler from preprocessing travels with the model: inference.py standardises raw feature values.
shutil.copy(os.path.join(input_dir("train"), "scaler.json"), os.path.join(out, "scaler.json"))
here = os.path.dirname(os.path.abspath(__file__))
shutil.copy(os.path.join(here, "inference.py"), os.path.join(out, "inference.py"))
with open(os.path.join(out, "requirements.txt"), "w") as f:
    f.write("numpy\nscikit-learn\n")
with open(os.path.join(out, "model.json"), "w") as f:
    json.dump({
        "name": "fraud-detector",
        "framework": "python",
        "entry": "inference.py",
        "contentTypes": ["application/json", "text/csv"],
        "signature": {
            "inputs": [{"name": name, "dtype": "float64"} for name in FEATURES],
            "outputs": [{"name": "fraud_probability", "dtype": "float64"}],
        },
        "metadata": {"algorithm": "scikit-learn LogisticRegression", "max_iter": epochs, "C": c,
                     "coefficients": np.round(clf.coef_[0], 6).tolist()},
    }, f, indent=2)
print(f"wrote model package with {len(FEATURES)} features")
