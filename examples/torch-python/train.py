"""Trains a small PyTorch network on generated points (is the point on the ring 1 < r < 2?) and
writes a `python` model package: the weights, net.py and inference.py."""
import json
import os
import shutil

import torch

from net import RingNet

with open(os.environ["CAPSTAN_HYPERPARAMETERS"]) as f:
    hp = json.load(f)
epochs = int(hp.get("epochs", 200))
hidden = int(hp.get("hidden", 16))
torch.manual_seed(int(hp.get("seed", 3)))

x = torch.rand(4000, 2) * 6 - 3
r = x.norm(dim=1)
y = ((r > 1) & (r < 2)).float()
cut = 3200
net = RingNet(hidden)
opt = torch.optim.Adam(net.parameters(), lr=0.02)
loss_fn = torch.nn.BCELoss()
for epoch in range(1, epochs + 1):
    opt.zero_grad()
    loss = loss_fn(net(x[:cut]), y[:cut])
    loss.backward()
    opt.step()
    if epoch % 25 == 0 or epoch == epochs:
        with torch.no_grad():
            accuracy = ((net(x[cut:]) >= 0.5).float() == y[cut:]).float().mean().item()
        print(f"epoch={epoch}; loss={loss.item():.5f}; accuracy={accuracy:.4f};", flush=True)

out = os.environ["CAPSTAN_MODEL_DIR"]
torch.save(net.state_dict(), os.path.join(out, "model.pt"))
here = os.path.dirname(os.path.abspath(__file__))
for name in ("net.py", "inference.py"):
    shutil.copy(os.path.join(here, name), os.path.join(out, name))
with open(os.path.join(out, "requirements.txt"), "w") as f:
    f.write("torch\n")
with open(os.path.join(out, "model.json"), "w") as f:
    json.dump({
        "name": "ring-classifier",
        "framework": "python",
        "entry": "inference.py",
        "signature": {"inputs": [{"name": "points", "dtype": "float32", "shape": [-1, 2]}],
                      "outputs": [{"name": "probability", "dtype": "float32", "shape": [-1]}]},
        "metadata": {"framework": "pytorch", "torch": torch.__version__, "hidden": hidden, "epochs": epochs},
    }, f, indent=2)
print("wrote model package")
