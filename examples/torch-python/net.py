"""The network, shared by train.py and the served package's inference.py."""
import torch
from torch import nn


class RingNet(nn.Module):
    """Two coordinates in, the probability that the point lies on the ring out."""

    def __init__(self, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return torch.sigmoid(self.layers(x)).squeeze(-1)
