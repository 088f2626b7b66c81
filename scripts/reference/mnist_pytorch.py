#!/usr/bin/python3
"""One epoch of examples/mnist's models and recipe in PyTorch, as a reference for training curves.

Not part of the build or CI. Needs Debian's python3-torch (`apt install python3-torch`) and the
cached IDX files (`scripts/fetch-mnist`). It answers one question: does a run of our engine learn as
fast as the same architecture and recipe in PyTorch? (Weights and batch order come from PyTorch's
generator, so compare distributions over seeds, not single runs.)

  /usr/bin/python3 scripts/reference/mnist_pytorch.py --model rk4net --seed 0 --threads 1

The architecture is the Neural ODE paper's MNIST model (Chen et al., 2018; torchdiffeq
examples/odenet_mnist.py), as examples/mnist/models.cpp builds it. There is no dopri5 or adjoint
here: `rk4net` integrates the same ODE block with classic RK4, 6 steps on [0, 1] (24 evaluations
against dopri5's ~26 at tol 1e-3), gradients by backprop. `resnet` is the six-block ResNet.
Schedules are examples/mnist's: `late` decays x0.1 for the last fifth of the run, `paper` at
epochs 60, 100 and 140.
"""
import argparse
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    raw = open(path, "rb").read()
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def norm(c):
    return nn.GroupNorm(min(32, c), c)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1, self.conv1 = norm(c), nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.norm2, self.conv2 = norm(c), nn.Conv2d(c, c, 3, 1, 1, bias=False)

    def forward(self, x):
        return x + self.conv2(torch.relu(self.norm2(self.conv1(torch.relu(self.norm1(x))))))


class ConcatConv2d(nn.Module):
    """A 3x3 convolution of [t, x]: time enters as one more input channel."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in + 1, c_out, 3, 1, 1)

    def forward(self, t, x):
        return self.conv(torch.cat([torch.full_like(x[:, :1], t), x], 1))


class ODEFunc(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm1, self.conv1 = norm(c), ConcatConv2d(c, c)
        self.norm2, self.conv2 = norm(c), ConcatConv2d(c, c)
        self.norm3 = norm(c)

    def forward(self, t, x):
        h = self.conv1(t, torch.relu(self.norm1(x)))
        return self.norm3(self.conv2(t, torch.relu(self.norm2(h))))


class RK4Block(nn.Module):
    def __init__(self, c, steps=6):
        super().__init__()
        self.f, self.steps = ODEFunc(c), steps

    def forward(self, x):
        h = 1.0 / self.steps
        for i in range(self.steps):
            t = i * h
            k1 = self.f(t, x)
            k2 = self.f(t + h / 2, x + h / 2 * k1)
            k3 = self.f(t + h / 2, x + h / 2 * k2)
            k4 = self.f(t + h, x + h * k3)
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return x


def build(kind):
    down = [nn.Conv2d(1, 64, 3, 1), norm(64), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), norm(64), nn.ReLU(),
            nn.Conv2d(64, 64, 4, 2, 1)]
    feature = [ResBlock(64) for _ in range(6)] if kind == "resnet" else [RK4Block(64)]
    head = [norm(64), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*down, *feature, *head)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["rk4net", "resnet"], default="rk4net")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1, help="at batch 128 (scaled by batch/128)")
    p.add_argument("--schedule", choices=["late", "paper"], default="late")
    p.add_argument("--data", default="data/cache/mnist")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    images = lambda f: torch.tensor(read_idx(f"{a.data}/{f}").astype(np.float32) / 255.0).unsqueeze(1)
    labels = lambda f: torch.tensor(read_idx(f"{a.data}/{f}").astype(np.int64))
    x_train, y_train = images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte")
    x_test, y_test = images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte")

    model = build(a.model)
    print(f"{a.model}: {sum(p.numel() for p in model.parameters())} parameters, torch {torch.__version__}, "
          f"{a.threads} thread(s), seed {a.seed}")
    lr = a.lr * a.batch_size / 128
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    steps = (len(y_train) + a.batch_size - 1) // a.batch_size
    decay_at = (4 * steps + 4) // 5 if a.schedule == "late" else None
    order = torch.randperm(len(y_train))
    loss_sum = correct = seen = 0
    t0 = time.time()
    for step in range(steps):
        if step == decay_at:
            for group in opt.param_groups:
                group["lr"] = lr * 0.1
        batch = order[step * a.batch_size:(step + 1) * a.batch_size]
        logits = model(x_train[batch])
        loss = nn.functional.cross_entropy(logits, y_train[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(batch)
        correct += (logits.argmax(1) == y_train[batch]).sum().item()
        seen += len(batch)
        if (step + 1) % 50 == 0 or step + 1 == steps:
            print(f"step {step + 1}/{steps}: loss {loss.item():.4f}, epoch mean loss {loss_sum / seen:.4f} "
                  f"acc {100 * correct / seen:.2f}%, {time.time() - t0:.0f} s", flush=True)
    model.eval()
    with torch.no_grad():
        right = sum((model(x_test[i:i + 500]).argmax(1) == y_test[i:i + 500]).sum().item()
                    for i in range(0, len(y_test), 500))
    print(f"test accuracy {100 * right / len(y_test):.2f}% after one epoch ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
