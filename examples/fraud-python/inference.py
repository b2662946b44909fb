"""Serves the fraud model (SageMaker handler functions): standardise raw features, then the
scikit-learn logistic regression. Request: {"instances": [{"amount_log": ...}, ...]}, one such object,
or CSV rows of the 8 features in order; response: [{"fraud_probability": p}, ...] per request."""
import json
import os
import pickle

import numpy as np

# predict_fn takes the inputs of several requests at once, so the endpoint can batch them.
PREDICT_BATCH = True


class BadRequest(ValueError):
    status_code = 400


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.pkl"), "rb") as f:
        clf = pickle.load(f)
    with open(os.path.join(model_dir, "scaler.json")) as f:
        scaler = json.load(f)
    return {"clf": clf, "features": scaler["features"], "mean": np.array(scaler["mean"]), "std": np.array(scaler["std"])}


def input_fn(body, content_type):
    """Raw feature rows of one request, as a list of lists (a missing feature takes the training mean)."""
    if content_type.startswith("text/csv"):
        rows = [line.split(",") for line in body.decode("utf-8").splitlines() if line.strip()]
        try:
            return [[float(v) for v in row] for row in rows]
        except ValueError:
            raise BadRequest("every CSV value must be a number")
    try:
        doc = json.loads(body)
    except ValueError:
        raise BadRequest("the body is not valid JSON")
    instances = doc.get("instances", [doc]) if isinstance(doc, dict) else doc
    if not isinstance(instances, list):
        raise BadRequest('send {"instances": [{feature: value}, ...]} or one object of features')
    return instances


def _rows(instances, model):
    """One request's instances as standardised rows; a bad value is this request's 400 alone."""
    features, mean = model["features"], model["mean"]
    rows = []
    for row in instances:
        if isinstance(row, dict):
            row = [row.get(name, mean[i]) for i, name in enumerate(features)]
        if not isinstance(row, list) or len(row) != len(features):
            raise BadRequest(f"each instance needs {len(features)} features")
        rows.append(row)
    try:
        return (np.asarray(rows, dtype=float).reshape(len(rows), len(features)) - mean) / model["std"]
    except (TypeError, ValueError):
        raise BadRequest("feature values must be numbers")


def predict_fn(inputs, model):
    """One model call for every request of the batch; each gets its own probabilities back."""
    x = np.vstack([_rows(instances, model) for instances in inputs])
    p = model["clf"].predict_proba(x)[:, 1] if len(x) else np.array([])
    out, start = [], 0
    for instances in inputs:
        out.append(p[start:start + len(instances)])
        start += len(instances)
    return out


def output_fn(prediction, accept):
    return json.dumps([{"fraud_probability": round(float(v), 6)} for v in prediction]), "application/json"
