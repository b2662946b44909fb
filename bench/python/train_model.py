"""Benchmark model: scikit-learn logistic regression on 100 generated features, written as a `python`
model package (inference.py) plus its coefficients (for the ONNX export of the same model)."""
import json
import os
import pickle
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

out = sys.argv[1]
rng = np.random.default_rng(1)
x = rng.normal(size=(4000, 100))
w = rng.normal(size=100)
y = (x @ w + rng.normal(size=4000) > 0).astype(int)
clf = LogisticRegression(max_iter=500).fit(x, y)
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "model.pkl"), "wb") as f:
    pickle.dump(clf, f)
with open(os.path.join(out, "inference.py"), "w") as f:
    f.write('''import os, pickle, json
import numpy as np

PREDICT_BATCH = True

def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        return pickle.load(f)

def input_fn(body, content_type):
    return json.loads(body)["instances"]

def predict_fn(inputs, model):
    rows = [row for instances in inputs for row in instances]
    p = model.predict_proba(np.asarray(rows, dtype=float))[:, 1]
    out, start = [], 0
    for instances in inputs:
        out.append(p[start:start + len(instances)])
        start += len(instances)
    return out

def output_fn(prediction, accept):
    return json.dumps({"probability": prediction.tolist()}), "application/json"
''')
with open(os.path.join(out, "model.json"), "w") as f:
    json.dump({"name": "bench-logreg", "framework": "python", "entry": "inference.py"}, f)
with open(os.path.join(out, "coefficients.json"), "w") as f:
    json.dump({"coef": clf.coef_[0].tolist(), "intercept": float(clf.intercept_[0]), "row": x[0].tolist(),
               "probability": float(clf.predict_proba(x[:1])[0, 1])}, f)
