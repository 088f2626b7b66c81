#!/usr/bin/python3
"""Time per training iteration of torchdiffeq's latent ODE on spirals, in plain PyTorch (issue #18).

Not part of the build or CI. Needs Debian's python3-torch (`apt install python3-torch`); torchdiffeq
itself is not needed. It is the PyTorch side of one ratio: the time of one training iteration of
examples/latent_ode (1000 spirals per batch) against the same iteration in torchdiffeq's
examples/latent_ode.py configuration, one thread.

  /usr/bin/python3 scripts/reference/latent_ode_pytorch.py --iters 20 --seed 0 --n-obs 100 --threads 1
  /usr/bin/python3 scripts/reference/latent_ode_pytorch.py --iters 20 --seed 0 --n-obs 30 --threads 1
  /usr/bin/python3 scripts/reference/latent_ode_pytorch.py --self-test

After 3 untimed warm-up iterations it prints, per timed iteration, wall ms, CPU ms (process time, so
it shows whether more than one thread ran), the split forward / backward+Adam wall ms, the NFE of
the forward solve, the dopri5 steps attempted and rejected, and the loss; then the medians of
ms/iteration, NFE and ms per forward NFE (each a median of per-iteration ratios). Wall and CPU time
agree on an idle machine; when other jobs share the cores, CPU time is the steadier figure.

Allocator: with glibc's default malloc, tensors above the (dynamic) mmap threshold are mmapped and
unmapped on every free, so each iteration page-faults its activations back in; on the 2-core test
machine that doubled the time and made it vary 2-4x between identical iterations. The script
therefore raises M_MMAP_THRESHOLD (32 MiB) and M_TRIM_THRESHOLD via mallopt at start-up, the
in-process equivalent of MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ (a fair setting for a
steady-state benchmark, like using jemalloc/tcmalloc); `--default-malloc` skips this.

The solver is odeint(method='dopri5') without the adjoint (torchdiffeq's default, and the example's
--adjoint False), written here from its published definition:
  * Dormand-Prince 5(4) tableau, FSAL (the 7th stage is the next step's first), 6 evaluations per
    attempted step, rtol 1e-7, atol 1e-9 (torchdiffeq's defaults);
  * error ratio = RMS over all elements of err / (atol + rtol * max(|y0|, |y1|)); accept if <= 1;
  * next step h * min(10, max(0.9 * ratio^(-1/5), 0.2)), and, as torchdiffeq does, no shrink after
    an accepted step (min factor 1 when ratio < 1); ratio == 0 gives h * 10;
  * initial step from Hairer, Norsett & Wanner, Solving ODEs I, II.4 (as torchdiffeq's
    _select_initial_step with order 4): d0 = rms(y0/s), d1 = rms(f0/s), s = atol + rtol |y0|;
    h0 = 0.01 d0/d1 (1e-6 if d0 or d1 < 1e-5); one more evaluation at t0 + h0 gives
    d2 = rms((f1 - f0)/s)/h0; h1 = (0.01/max(d1, d2))^(1/5) (max(1e-6, 1e-3 h0) if both <= 1e-15);
    h = min(100 h0, h1). So forward NFE = 2 + 6 * (attempted steps);
  * steps are not clipped to the last output time; outputs come from the dense output, which is
    torchdiffeq's: a quartic through y0, y1, the Shampine (1986) midpoint value
    y_mid = y0 + h sum_i c_mid_i k_i and the derivatives f0, f1 (not Hairer's contd5 polynomial);
  * gradients by direct backprop through every stage (autograd records the solver's tensor ops).
    Differences from torchdiffeq: step-size control is done in Python floats (torchdiffeq keeps dt a
    tensor whose small graph hangs off the error estimate), and the initial-step probe runs under
    no_grad. Neither changes the forward solution; both make backward slightly cheaper here.
  `--self-test` checks the solver against y' = -y, a 2-D rotation and d y(T)/d y0 = exp(-T) (errors
  < 1e-6 in float64, asserted) and prints the NFE.

The model is the example's: data nspiral 1000, ntotal 1000, nsample 100, t in [0, 6 pi], noise_std
0.3, a = 0, b = 0.3; clockwise spiral zs = stop + 1 - t, r = a + 50 b / zs, (r cos zs - 5, r sin zs);
counter-clockwise zs = t, r = a + b zs, (r cos zs + 5, r sin zs); each spiral a start index uniform in
[nsample, ntotal - nsample), cw or cc with probability 1/2, nsample consecutive points plus
N(0, 0.3^2) noise, drawn once from numpy's RandomState(seed). The whole set of 1000 spirals is the
batch of every iteration (as in the example). latent 4, ODE func Linear(4,20) ELU Linear(20,20) ELU
Linear(20,4); recognition RNN h = tanh(Linear(obs + 25, 25)(cat(x, h))), run backwards from h = 0,
then Linear(25, 8) -> (qz0_mean, qz0_logvar); decoder Linear(4,20) ReLU Linear(20,2); z0 =
eps exp(logvar/2) + mean; loss = mean over spirals of (-sum log N(x; pred_x, 0.3^2) + KL(q(z0) ||
N(0, I))). Adam lr 0.01, float32, PyTorch's default initialisation, torch.manual_seed(seed).

Modes (--n-obs):
  100 (default): the example exactly: the ODE is solved at the 100 sample times samp_ts =
      linspace(0, 6 pi, 1000)[:100] from z0 at t = 0, the RNN reads all 100 points.
  30: each spiral keeps 30 of its 100 points, chosen without replacement and sorted (numpy, after
      the data). The ODE is solved once for the batch over the union of all observed times (with
      1000 spirals that is all 100 times; t = 0 is prepended if absent so z0 always sits at the
      window start); each spiral's predictions are gathered at its own 30 times before decoding, so
      the likelihood covers exactly its observations (equivalent to masking the other 70). The RNN
      runs backwards over each spiral's own 30 observations with input (x, time gap to the spiral's
      next observation; 0 for its last), i.e. Linear(2 + 1 + 25, 25). Every spiral has 30
      observations, so no padding.
"""
import argparse
import ctypes
import math
import statistics
import time
from fractions import Fraction as F

import numpy as np
import torch
import torch.nn as nn

# ---- Dormand-Prince 5(4) ------------------------------------------------------------------------

_A = [
    [],
    [F(1, 5)],
    [F(3, 40), F(9, 40)],
    [F(44, 45), F(-56, 15), F(32, 9)],
    [F(19372, 6561), F(-25360, 2187), F(64448, 6561), F(-212, 729)],
    [F(9017, 3168), F(-355, 33), F(46732, 5247), F(49, 176), F(-5103, 18656)],
]
_C = [F(0), F(1, 5), F(3, 10), F(4, 5), F(8, 9), F(1)]
_B5 = [F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84), F(0)]  # = the 7th stage's row
_B4 = [F(5179, 57600), F(0), F(7571, 16695), F(393, 640), F(-92097, 339200), F(187, 2100), F(1, 40)]
_E = [b5 - b4 for b5, b4 in zip(_B5, _B4)]
# Shampine's midpoint: y(t0 + h/2) ~ y0 + h sum c_mid_i k_i (torchdiffeq's DPS_C_MID).
_C_MID = [F(6025192743, 30085553152) / 2, F(0), F(51252292925, 65400821598) / 2, F(-2691868925, 45128329728) / 2,
          F(187940372067, 1594534317056) / 2, F(-1776094331, 19743644256) / 2, F(11237099, 235043384) / 2]

A = [[float(x) for x in row] for row in _A]
C = [float(x) for x in _C]
B5 = [float(x) for x in _B5]
E = [float(x) for x in _E]
C_MID = [float(x) for x in _C_MID]


def _combo(y, h, coeffs, ks):
    """y + h * sum_i coeffs_i ks_i, skipping zero coefficients (one fused add per term)."""
    out = y
    for c, k in zip(coeffs, ks):
        if c != 0.0:
            out = out.add(k, alpha=h * c)
    return out


def _rms(x):
    return float(x.pow(2).mean().sqrt())


class Dopri5:
    """odeint(func, y0, ts) with torchdiffeq's dopri5 controller; `nfe` counts evaluations."""

    def __init__(self, rtol=1e-7, atol=1e-9, safety=0.9, ifactor=10.0, dfactor=0.2, max_steps=100000):
        self.rtol, self.atol, self.safety, self.ifactor, self.dfactor = rtol, atol, safety, ifactor, dfactor
        self.max_steps, self.nfe, self.steps, self.rejected = max_steps, 0, 0, 0

    def _f(self, func, t, y):
        self.nfe += 1
        return func(t, y)

    def initial_step(self, func, t0, y0, f0, order=4):
        with torch.no_grad():
            scale = self.atol + y0.abs() * self.rtol
            d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
            h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
            f1 = self._f(func, t0 + h0, y0 + h0 * f0)
            d2 = _rms((f1 - f0) / scale) / h0
            if d1 <= 1e-15 and d2 <= 1e-15:
                h1 = max(1e-6, h0 * 1e-3)
            else:
                h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
            return min(100 * h0, h1)

    def next_step(self, h, ratio):
        if ratio == 0.0:
            return h * self.ifactor
        dfactor = 1.0 if ratio < 1.0 else self.dfactor
        return h * min(self.ifactor, max(self.safety / ratio ** 0.2, dfactor))

    def step(self, func, t, y, f0, h):
        ks = [f0]
        for i in range(1, 6):
            ks.append(self._f(func, t + C[i] * h, _combo(y, h, A[i], ks)))
        y1 = _combo(y, h, B5, ks)
        f1 = self._f(func, t + h, y1)  # FSAL: the next step's first stage
        ks.append(f1)
        with torch.no_grad():
            err = _combo(torch.zeros_like(y), h, E, ks)
            tol = self.atol + self.rtol * torch.max(y.abs(), y1.abs())
            ratio = _rms(err / tol)
        return y1, f1, ks, ratio

    @staticmethod
    def interp_fit(y0, y1, ks, h):
        """Coefficients [e, d, c, b, a] of y0 + d x + c x^2 + b x^3 + a x^4, x = (t - t0)/h."""
        f0, f1 = ks[0], ks[6]
        y_mid = _combo(y0, h, C_MID, ks)
        a = 2 * h * (f1 - f0) - 8 * (y1 + y0) + 16 * y_mid
        b = h * (5 * f0 - 3 * f1) + 18 * y0 + 14 * y1 - 32 * y_mid
        c = h * (f1 - 4 * f0) - 11 * y0 - 5 * y1 + 16 * y_mid
        d = h * f0
        return [y0, d, c, b, a]

    @staticmethod
    def interp_eval(coeffs, t0, t1, t):
        x = (t - t0) / (t1 - t0)
        e, d, c, b, a = coeffs
        return e + x * (d + x * (c + x * (b + x * a)))

    def odeint(self, func, y0, ts):
        """Solution at the increasing times ts (Python floats), stacked: (len(ts), *y0.shape)."""
        t = ts[0]
        y, f = y0, self._f(func, t, y0)
        h = self.initial_step(func, t, y0, f)
        out, coeffs, t_prev = [y0], None, t
        for t_out in ts[1:]:
            while t_out > t:
                if self.steps >= self.max_steps:
                    raise RuntimeError(f"dopri5: more than {self.max_steps} steps")
                if not (h > 0.0 and t + h > t):
                    raise RuntimeError(f"dopri5: step size underflow (h = {h})")
                y1, f1, ks, ratio = self.step(func, t, y, f, h)
                self.steps += 1
                if ratio <= 1.0:
                    coeffs = self.interp_fit(y, y1, ks, h)
                    t_prev, t, y, f = t, t + h, y1, f1
                else:
                    self.rejected += 1
                h = self.next_step(h, ratio)
            out.append(self.interp_eval(coeffs, t_prev, t, t_out))
        return torch.stack(out)


def odeint(func, y0, ts, **kw):
    solver = Dopri5(**kw)
    return solver.odeint(func, y0, ts), solver


# ---- self-test ----------------------------------------------------------------------------------

def self_test():
    assert sum(_C_MID) == F(1, 2), "c_mid must integrate y' = 1 to h/2"
    assert sum(_B5) == 1 and sum(_B4) == 1 and all(sum(r) == c for r, c in zip(_A, _C))
    dt = torch.float64
    ts = [0.05 * i for i in range(201)]  # [0, 10], outputs mostly between steps
    tt = torch.tensor(ts, dtype=dt)

    y0 = torch.tensor([1.0, 2.0, -0.5], dtype=dt)
    y, s = odeint(lambda t, y: -y, y0, ts)
    err = (y - torch.exp(-tt)[:, None] * y0).abs().max().item()
    print(f"y' = -y on [0, 10], 201 outputs: max |error| {err:.2e}, NFE {s.nfe} ({s.steps} steps, {s.rejected} rejected)")
    assert err < 1e-6, err

    w = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=dt)  # y' = W y: rotation, y(t) = (cos t, sin t)
    y, s = odeint(lambda t, y: y @ w.T, torch.tensor([1.0, 0.0], dtype=dt), ts)
    exact = torch.stack([torch.cos(tt), torch.sin(tt)], 1)
    err = (y - exact).abs().max().item()
    print(f"rotation on [0, 10], 201 outputs: max |error| {err:.2e}, NFE {s.nfe} ({s.steps} steps, {s.rejected} rejected)")
    assert err < 1e-6, err

    y0 = torch.tensor([1.0, 2.0], dtype=dt, requires_grad=True)
    y, s = odeint(lambda t, y: -y, y0, [0.0, 0.7, 3.0])
    y[-1].sum().backward()
    err = (y0.grad - math.exp(-3.0)).abs().max().item()
    print(f"backprop through the solver, d y(3)/d y0 = exp(-3): max |error| {err:.2e}, NFE {s.nfe}")
    assert err < 1e-6, err

    y, s = odeint(lambda t, y: -y, torch.tensor([1.0, 2.0]), ts)  # float32, reported only
    err = (y - torch.exp(-tt.float())[:, None] * torch.tensor([1.0, 2.0])).abs().max().item()
    print(f"(float32 y' = -y: max |error| {err:.2e}, NFE {s.nfe}; not asserted)")
    print("self-test passed")


# ---- data and model -----------------------------------------------------------------------------

def generate_spiral2d(rng, nspiral=1000, ntotal=1000, nsample=100, start=0.0, stop=6 * np.pi, noise_std=0.3,
                      a=0.0, b=0.3):
    orig_ts = np.linspace(start, stop, num=ntotal)
    samp_ts = orig_ts[:nsample]
    zs_cw = stop + 1.0 - orig_ts
    rs_cw = a + b * 50.0 / zs_cw
    orig_traj_cw = np.stack((rs_cw * np.cos(zs_cw) - 5.0, rs_cw * np.sin(zs_cw)), axis=1)
    zs_cc = orig_ts
    rw_cc = a + b * zs_cc
    orig_traj_cc = np.stack((rw_cc * np.cos(zs_cc) + 5.0, rw_cc * np.sin(zs_cc)), axis=1)
    samp_trajs = []
    for _ in range(nspiral):
        t0_idx = int(rng.randint(nsample, ntotal - nsample))
        cc = bool(rng.rand() > 0.5)
        traj = (orig_traj_cc if cc else orig_traj_cw)[t0_idx:t0_idx + nsample]
        samp_trajs.append(traj + rng.randn(*traj.shape) * noise_std)
    return np.stack(samp_trajs, axis=0), samp_ts  # (nspiral, nsample, 2), (nsample,)


class LatentODEfunc(nn.Module):
    def __init__(self, latent_dim=4, nhidden=20):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(latent_dim, nhidden), nn.Linear(nhidden, nhidden)
        self.fc3 = nn.Linear(nhidden, latent_dim)
        self.elu = nn.ELU(inplace=True)

    def forward(self, t, x):
        return self.fc3(self.elu(self.fc2(self.elu(self.fc1(x)))))


class RecognitionRNN(nn.Module):
    def __init__(self, latent_dim=4, in_dim=2, nhidden=25):
        super().__init__()
        self.nhidden = nhidden
        self.i2h = nn.Linear(in_dim + nhidden, nhidden)
        self.h2o = nn.Linear(nhidden, latent_dim * 2)

    def forward(self, x, h):
        h = torch.tanh(self.i2h(torch.cat((x, h), dim=1)))
        return self.h2o(h), h


class Decoder(nn.Module):
    def __init__(self, latent_dim=4, obs_dim=2, nhidden=20):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(latent_dim, nhidden), nn.Linear(nhidden, obs_dim)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, z):
        return self.fc2(self.relu(self.fc1(z)))


def log_normal_pdf(x, mean, logvar):
    return -0.5 * (math.log(2.0 * math.pi) + logvar + (x - mean) ** 2 / torch.exp(logvar))


def normal_kl(mu1, lv1, mu2, lv2):
    v1, v2 = torch.exp(lv1), torch.exp(lv2)
    return lv2 / 2.0 - lv1 / 2.0 + (v1 + (mu1 - mu2) ** 2) / (2.0 * v2) - 0.5


def keep_freed_memory():
    """glibc malloc: no mmap for big blocks and no trimming, so freed tensors are reused, not refaulted."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        return libc.mallopt(M_MMAP_THRESHOLD, 1 << 25) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
    except OSError:
        return False


# ---- training -----------------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=20, help="timed iterations")
    p.add_argument("--warmup", type=int, default=3, help="untimed iterations first")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-obs", type=int, default=100, choices=range(1, 101), metavar="{1..100}")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--self-test", action="store_true")
    p.add_argument("--default-malloc", action="store_true", help="leave glibc's mmap/trim thresholds alone")
    a = p.parse_args()
    malloc = "glibc default malloc" if a.default_malloc else \
        ("malloc mmap/trim thresholds raised" if keep_freed_memory() else "mallopt failed: default malloc")
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    if a.self_test:
        self_test()
        return

    latent_dim, nhidden, rnn_nhidden, obs_dim, noise_std, nspiral, nsample = 4, 20, 25, 2, 0.3, 1000, 100
    rng = np.random.RandomState(a.seed)
    torch.manual_seed(a.seed)
    trajs_np, samp_ts_np = generate_spiral2d(rng, nspiral=nspiral, nsample=nsample, noise_std=noise_std)
    trajs = torch.from_numpy(trajs_np).float()  # (B, 100, 2)

    if a.n_obs == nsample:
        ts = [float(t) for t in samp_ts_np]
        obs, gaps, pos = trajs, None, None
        in_dim = obs_dim
    else:
        idx = np.sort(np.stack([rng.choice(nsample, a.n_obs, replace=False) for _ in range(nspiral)]), axis=1)
        union = np.unique(idx)
        if union[0] != 0:
            union = np.concatenate([[0], union])
        ts = [float(samp_ts_np[i]) for i in union]
        obs = torch.gather(trajs, 1, torch.from_numpy(idx)[:, :, None].expand(-1, -1, obs_dim))  # (B, n, 2)
        t_obs = samp_ts_np[idx]
        gaps = np.concatenate([np.diff(t_obs, axis=1), np.zeros((nspiral, 1))], axis=1)
        gaps = torch.from_numpy(gaps).float()[:, :, None]  # (B, n, 1): time to the spiral's next observation
        pos = torch.from_numpy(np.searchsorted(union, idx))[:, :, None].expand(-1, -1, latent_dim)  # into pred_z
        in_dim = obs_dim + 1

    func = LatentODEfunc(latent_dim, nhidden)
    rec = RecognitionRNN(latent_dim, in_dim, rnn_nhidden)
    dec = Decoder(latent_dim, obs_dim, nhidden)
    params = list(func.parameters()) + list(dec.parameters()) + list(rec.parameters())
    optimizer = torch.optim.Adam(params, lr=0.01)
    noise_logvar = 2.0 * math.log(noise_std)

    def iteration():
        t0w, t0c = time.perf_counter(), time.process_time()
        optimizer.zero_grad()
        h = torch.zeros(nspiral, rnn_nhidden)
        for j in reversed(range(obs.size(1))):
            x = obs[:, j, :] if gaps is None else torch.cat((obs[:, j, :], gaps[:, j, :]), dim=1)
            out, h = rec.forward(x, h)
        qz0_mean, qz0_logvar = out[:, :latent_dim], out[:, latent_dim:]
        epsilon = torch.randn(qz0_mean.size())
        z0 = epsilon * torch.exp(0.5 * qz0_logvar) + qz0_mean
        pred_z, solver = odeint(func, z0, ts)
        pred_z = pred_z.permute(1, 0, 2)  # (B, T, 4)
        if pos is not None:
            pred_z = torch.gather(pred_z, 1, pos)  # (B, n, 4): each spiral's own times
        pred_x = dec(pred_z)
        logpx = log_normal_pdf(obs, pred_x, torch.full_like(pred_x, noise_logvar)).sum(-1).sum(-1)
        zeros = torch.zeros_like(qz0_mean)
        analytic_kl = normal_kl(qz0_mean, qz0_logvar, zeros, zeros).sum(-1)
        loss = torch.mean(-logpx + analytic_kl, dim=0)
        t1w = time.perf_counter()
        loss.backward()
        optimizer.step()
        t2w, t2c = time.perf_counter(), time.process_time()
        return dict(wall=1e3 * (t2w - t0w), cpu=1e3 * (t2c - t0c), fwd=1e3 * (t1w - t0w), bwd=1e3 * (t2w - t1w),
                    nfe=solver.nfe, steps=solver.steps, rej=solver.rejected, loss=loss.item())

    print(f"latent ODE, {nspiral} spirals x {a.n_obs} observations, ODE solved at {len(ts)} times on "
          f"[0, {ts[-1]:.4f}]; dopri5 rtol 1e-7 atol 1e-9, backprop; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), seed {a.seed}, {malloc}")
    for i in range(a.warmup):
        r = iteration()
        print(f"warm-up {i + 1}: {r['wall']:.1f} ms, NFE {r['nfe']}, loss {r['loss']:.4f}", flush=True)
    print(f"{'iter':>4} {'wall ms':>9} {'CPU ms':>9} {'fwd ms':>9} {'bwd+Adam':>9} {'NFE':>5} {'steps':>5} {'rej':>4} {'loss':>10}")
    rows = []
    for i in range(a.iters):
        r = iteration()
        rows.append(r)
        print(f"{i + 1:>4} {r['wall']:9.1f} {r['cpu']:9.1f} {r['fwd']:9.1f} {r['bwd']:9.1f} {r['nfe']:5d} {r['steps']:5d} "
              f"{r['rej']:4d} {r['loss']:10.4f}", flush=True)
    med = lambda k: statistics.median(r[k] for r in rows)
    print(f"median over {len(rows)} iterations: {med('wall'):.1f} ms/iteration (CPU {med('cpu'):.1f} ms; forward "
          f"{med('fwd'):.1f}, backward+Adam {med('bwd'):.1f}), NFE {med('nfe'):g}, "
          f"{statistics.median(r['wall'] / r['nfe'] for r in rows):.3f} ms per forward NFE "
          f"(CPU {statistics.median(r['cpu'] / r['nfe'] for r in rows):.3f}; forward wall only "
          f"{statistics.median(r['fwd'] / r['nfe'] for r in rows):.3f})")


if __name__ == "__main__":
    main()
