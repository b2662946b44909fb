"""Serves RingNet (SageMaker handler functions): {"points": [[x, y], ...]} -> {"probability": [...]}.
predict_fn takes a batch of requests, so the endpoint can merge concurrent ones into one forward pass."""
import json
import os

import torch

from net import RingNet

PREDICT_BATCH = True
torch.set_num_threads(1)


class BadRequest(ValueError):
    status_code = 400


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        hidden = json.load(f)["metadata"]["hidden"]
    net = RingNet(hidden)
    net.load_state_dict(torch.load(os.path.join(model_dir, "model.pt")))
    net.eval()
    return net


def input_fn(body, content_type):
    try:
        points = json.loads(body)["points"]
        tensor = torch.tensor(points, dtype=torch.float32)
    except (ValueError, KeyError, TypeError):
        raise BadRequest('send {"points": [[x, y], ...]}')
    if tensor.dim() != 2 or tensor.shape[1] != 2:
        raise BadRequest("points must be a list of [x, y] pairs")
    return tensor


def predict_fn(inputs, model):
    with torch.no_grad():
        probabilities = model(torch.cat(inputs))
    return list(torch.split(probabilities, [len(t) for t in inputs]))


def output_fn(prediction, accept):
    return json.dumps({"probability": [round(p, 5) for p in prediction.tolist()]}), "application/json"
