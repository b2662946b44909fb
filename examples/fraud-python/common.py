"""Helpers shared by the three steps: the step contract (DESIGN section 4) and CSV I/O with numpy."""
import json
import os
import sys

import numpy as np

FEATURES = ["amount_log", "hour_sin", "hour_cos", "merchant_risk", "distance_km_log", "foreign", "card_present", "tx_last_24h"]


def hyperparameters():
    """The step's hyperparameters from CAPSTAN_HYPERPARAMETERS (also passed as --name value)."""
    with open(os.environ["CAPSTAN_HYPERPARAMETERS"]) as f:
        return json.load(f)


def input_dir(channel):
    return os.path.join(os.environ["CAPSTAN_INPUT_DIR"], channel)


def output_dir(name):
    return os.path.join(os.environ["CAPSTAN_OUTPUT_DIR"], name)


def model_dir():
    return os.environ["CAPSTAN_MODEL_DIR"]


def fail_permanently(message):
    """Bad input will not improve on retry: exit with the documented do-not-retry code."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(int(os.environ.get("CAPSTAN_NO_RETRY_EXIT_CODE", "86")))


def save_csv(path, x, y):
    header = ",".join(FEATURES + ["is_fraud"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt="%.6f")


def load_csv(path):
    if not os.path.exists(path):
        fail_permanently(f"missing input file {os.path.basename(path)}")
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1]


def auc(y, score):
    """Area under the ROC curve via the rank statistic (ties get average ranks)."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
