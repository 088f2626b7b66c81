#!/usr/bin/python3
"""The stiff problems of bench/stiff/problems.hpp in Python, and SciPy's Radau, BDF and LSODA on
them (issue #21's work-precision benchmark).

Every problem is written again here from the same published equations (see problems.hpp for the
sources and constants); check_against_cpp() compares f and J with what `bench_stiff --stiff_dump`
prints, so that both sides solve the same system, and checks J against central differences of f.

  scipy_peer.py [--bench build/bench/bench_stiff] [--repeats 3] [--out results.json]
      runs the check, then every (problem, method, rtol) and prints/writes the results.
Time is process CPU time (time.process_time), best of --repeats runs.
"""
import argparse
import json
import math
import subprocess
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

RTOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]
METHODS = ["Radau", "BDF", "LSODA"]


class Problem:
    def __init__(self, name, y0, t_end, atol_scale, f, jac, autonomous=True, t0=0.0):
        self.name, self.y0, self.t0, self.t_end = name, np.array(y0, dtype=float), t0, t_end
        self.atol_scale, self.f, self.jac, self.autonomous = atol_scale, f, jac, autonomous
        self.n = len(self.y0)


def robertson():
    def f(t, y):
        d0 = -0.04 * y[0] + 1e4 * y[1] * y[2]
        d2 = 3e7 * y[1] * y[1]
        return np.array([d0, -d0 - d2, d2])

    def jac(t, y):
        return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                         [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                         [0.0, 6e7 * y[1], 0.0]])
    return Problem("robertson", [1.0, 0.0, 0.0], 1e11, 1e-6, f, jac)


def van_der_pol(mu=1000.0):
    def f(t, y):
        return np.array([y[1], mu * (1.0 - y[0] * y[0]) * y[1] - y[0]])

    def jac(t, y):
        return np.array([[0.0, 1.0], [-2.0 * mu * y[0] * y[1] - 1.0, mu * (1.0 - y[0] * y[0])]])
    return Problem("vdpol_mu1000", [2.0, 0.0], 2000.0, 1e-3, f, jac)


def hires():
    def f(t, y):
        r = 280.0 * y[5] * y[7]
        return np.array([
            -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007,
            1.71 * y[0] - 8.75 * y[1],
            -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4],
            8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3],
            -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6],
            -r + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6],
            r - 1.81 * y[6],
            -r + 1.81 * y[6]])

    def jac(t, y):
        J = np.zeros((8, 8))
        J[0, :3] = [-1.71, 0.43, 8.32]
        J[1, :2] = [1.71, -8.75]
        J[2, 2:5] = [-10.03, 0.43, 0.035]
        J[3, 1:4] = [8.32, 1.71, -1.12]
        J[4, 4:7] = [-1.745, 0.43, 0.43]
        J[5, 3:8] = [0.69, 1.71, -280.0 * y[7] - 0.43, 0.69, -280.0 * y[5]]
        J[6, 5:8] = [280.0 * y[7], -1.81, 280.0 * y[5]]
        J[7, 5:8] = [-280.0 * y[7], 1.81, -280.0 * y[5]]
        return J
    return Problem("hires", [1, 0, 0, 0, 0, 0, 0, 0.0057], 321.8122, 1e-4, f, jac)


def orego(s=77.27, q=8.375e-6, w=0.161):
    def f(t, y):
        return np.array([s * (y[1] + y[0] * (1.0 - q * y[0] - y[1])),
                         (y[2] - (1.0 + y[0]) * y[1]) / s,
                         w * (y[0] - y[2])])

    def jac(t, y):
        return np.array([[s * (1.0 - 2.0 * q * y[0] - y[1]), s * (1.0 - y[0]), 0.0],
                         [-y[1] / s, -(1.0 + y[0]) / s, 1.0 / s],
                         [w, 0.0, -w]])
    return Problem("orego", [1.0, 2.0, 3.0], 360.0, 1.0, f, jac)


def e5(A=7.89e-10, B=1.1e7, C=1.13e3, M=1e6):
    MC = M * C

    def f(t, y):
        r1, r2, r3, r4 = A * y[0], B * y[0] * y[2], M * C * y[1] * y[2], C * y[3]
        return np.array([-r1 - r2, r1 - r3, r1 - r2 - r3 + r4, r2 - r4])

    def jac(t, y):
        return np.array([[-A - B * y[2], 0.0, -B * y[0], 0.0],
                         [A, -MC * y[2], -MC * y[1], 0.0],
                         [A - B * y[2], -MC * y[2], -B * y[0] - MC * y[1], C],
                         [B * y[2], 0.0, B * y[0], -C]])
    return Problem("e5", [1.76e-3, 0, 0, 0], 1e5, 1e-22, f, jac)  # t_end: see problems.hpp

# Pollution (Bari test set "pollu"): reaction j has rate k_j y_a (y_b); species 1-based.
POLLU_REACTIONS = [
    (0.35, 1, 0), (26.6, 2, 4), (1.23e4, 5, 2), (8.6e-4, 7, 0), (8.2e-4, 7, 0),
    (1.5e4, 7, 6), (1.3e-4, 9, 0), (2.4e4, 9, 6), (1.65e4, 11, 2), (9.0e3, 11, 1),
    (2.2e-2, 13, 0), (1.2e4, 10, 2), (1.88, 14, 0), (1.63e4, 1, 6), (4.8e6, 3, 0),
    (3.5e-4, 4, 0), (1.75e-2, 4, 0), (1.0e8, 16, 0), (4.44e11, 16, 0), (1.24e3, 17, 6),
    (2.1, 19, 0), (5.78, 19, 0), (4.74e-2, 1, 4), (1.78e3, 19, 1), (3.12, 20, 0)]
# f_i as signed reaction numbers (a 2 is written twice), as in the test set's description.
POLLU_F = {
    1: [-1, -10, -14, -23, -24, 2, 3, 9, 11, 12, 22, 25],
    2: [-2, -3, -9, -12, 1, 21],
    3: [-15, 1, 17, 19, 22],
    4: [-2, -16, -17, -23, 15],
    5: [-3, 4, 4, 6, 7, 13, 20],
    6: [-6, -8, -14, -20, 3, 18, 18],
    7: [-4, -5, -6, 13],
    8: [4, 5, 6, 7],
    9: [-7, -8],
    10: [-12, 7, 9],
    11: [-9, -10, 8, 11],
    12: [9],
    13: [-11, 10],
    14: [-13, 12],
    15: [14],
    16: [-18, -19, 16],
    17: [-20],
    18: [20],
    19: [-21, -22, -24, 23, 25],
    20: [-25, 24]}


def pollution():
    S = np.zeros((20, 25))
    for i, js in POLLU_F.items():
        for j in js:
            S[i - 1, abs(j) - 1] += 1.0 if j > 0 else -1.0
    k = np.array([r[0] for r in POLLU_REACTIONS])
    a = np.array([r[1] - 1 for r in POLLU_REACTIONS])
    b = np.array([r[2] - 1 for r in POLLU_REACTIONS])
    two = b >= 0

    def rates(y):
        r = k * y[a]
        r[two] *= y[b[two]]
        return r

    def f(t, y):
        return S @ rates(y)

    def jac(t, y):
        dr = np.zeros((25, 20))  # d r_j / d y_m
        for j in range(25):
            if two[j]:
                dr[j, a[j]] += k[j] * y[b[j]]
                dr[j, b[j]] += k[j] * y[a[j]]
            else:
                dr[j, a[j]] += k[j]
        return S @ dr
    y0 = np.zeros(20)
    y0[[1, 3, 6, 7, 8, 16]] = [0.2, 0.04, 0.1, 0.3, 0.01, 0.007]
    return Problem("pollution", y0, 60.0, 1e-6, f, jac)


def prothero_robinson(lam=1e6):
    def f(t, y):
        return np.array([-lam * (y[0] - math.sin(t)) + math.cos(t)])

    def jac(t, y):
        return np.array([[-lam]])
    return Problem("prothero_robinson", [0.0], 10.0, 1.0, f, jac, autonomous=False)


def brusselator(N=40, alpha=1.0 / 50.0):
    c = alpha * (N + 1) ** 2

    def f(t, y):
        u, v = y[0::2], y[1::2]
        up = np.concatenate(([1.0], u, [1.0]))
        vp = np.concatenate(([3.0], v, [3.0]))
        d = np.empty_like(y)
        d[0::2] = 1.0 + u * u * v - 4.0 * u + c * (up[:-2] - 2.0 * u + up[2:])
        d[1::2] = 3.0 * u - u * u * v + c * (vp[:-2] - 2.0 * v + vp[2:])
        return d

    def jac(t, y):
        n = 2 * N
        J = np.zeros((n, n))
        u, v = y[0::2], y[1::2]
        iu, iv = np.arange(0, n, 2), np.arange(1, n, 2)
        J[iu, iu] = 2.0 * u * v - 4.0 - 2.0 * c
        J[iu, iv] = u * u
        J[iv, iu] = 3.0 - 2.0 * u * v
        J[iv, iv] = -u * u - 2.0 * c
        J[iu[1:], iu[:-1]] = c
        J[iu[:-1], iu[1:]] = c
        J[iv[1:], iv[:-1]] = c
        J[iv[:-1], iv[1:]] = c
        return J
    x = np.arange(1, N + 1) / (N + 1.0)
    y0 = np.empty(2 * N)
    y0[0::2] = 1.0 + np.sin(2.0 * np.pi * x)
    y0[1::2] = 3.0
    return Problem("brusselator_1d", y0, 10.0, 1.0, f, jac)


def problems():
    return [robertson(), van_der_pol(), hires(), orego(), e5(), pollution(),
            prothero_robinson(), brusselator()]


def scaled_error(p, y, ref, rtol):
    y, ref = np.asarray(y), np.asarray(ref)
    return float(np.max(np.abs(y - ref) / (rtol * p.atol_scale + rtol * np.abs(ref))))


def check_against_cpp(bench):
    """f and J of every problem agree with the C++ ones at two points, and J with differences
    of f. Returns a list of per-problem summaries; raises if anything disagrees."""
    dump = json.loads(subprocess.run([bench, "--stiff_dump"], check=True, capture_output=True,
                                     text=True).stdout)
    by_name = {p.name: p for p in problems()}
    report = []
    for d in dump:
        p = by_name[d["name"]]
        for key in ("n", "t_end", "atol_scale", "autonomous"):
            mine = getattr(p, key)
            if (mine != d[key]) if isinstance(mine, (bool, int)) else not math.isclose(mine, d[key], rel_tol=1e-15):
                raise SystemExit(f"{p.name}: {key} differs: python {mine}, C++ {d[key]}")
        worst_f = worst_j = worst_fd = 0.0
        for pt in d["points"]:
            t, y = pt["t"], np.array(pt["y"])
            fc, Jc = np.array(pt["f"]), np.array(pt["J"]).reshape(p.n, p.n)
            fp, Jp = p.f(t, y), p.jac(t, y)
            fscale = np.max(np.abs(fc)) if np.any(fc) else 1.0
            worst_f = max(worst_f, float(np.max(np.abs(fc - fp) / (np.abs(fc) + 1e-6 * fscale + 1e-300))))
            jscale = np.max(np.abs(Jc)) if np.any(Jc) else 1.0
            worst_j = max(worst_j, float(np.max(np.abs(Jc - Jp) / (np.abs(Jc) + 1e-6 * jscale))))
            # central differences of the Python f against the Python J, column by column
            ymax = np.max(np.abs(y))
            for j in range(p.n):
                h = 1e-6 * max(abs(y[j]), 1e-3 * ymax) if ymax > 0 else 1e-6
                e = np.zeros(p.n)
                e[j] = h
                col = (p.f(t, y + e) - p.f(t, y - e)) / (2 * h)
                worst_fd = max(worst_fd, float(np.max(np.abs(col - Jp[:, j])) / jscale))
        ok = worst_f < 1e-12 and worst_j < 1e-12 and worst_fd < 1e-6
        report.append({"name": p.name, "f_rel_diff": worst_f, "J_rel_diff": worst_j,
                       "J_vs_central_differences": worst_fd, "ok": ok})
        if not ok:
            raise SystemExit(f"{p.name}: the Python and C++ problems disagree: {report[-1]}")
    return report


def run(p, method, rtol, atol=None, repeats=3):
    atol = rtol * p.atol_scale if atol is None else atol
    best, sol = math.inf, None
    for _ in range(repeats):
        t0 = time.process_time()
        sol = solve_ivp(p.f, (p.t0, p.t_end), p.y0, method=method, rtol=rtol, atol=atol,
                        jac=p.jac, t_eval=[p.t_end])
        best = min(best, time.process_time() - t0)
    ok = sol.status == 0 and sol.y.shape[1] == 1
    return {"y_end": sol.y[:, -1].tolist() if ok else None, "ok": bool(ok), "message": sol.message,
            "nfe": int(sol.nfev), "njac": int(sol.njev), "nlu": int(sol.nlu),
            "cpu_ms": 1e3 * best}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/bench/bench_stiff")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--references", default=None, help="references.json (default: next to this script)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default=None, help="comma-separated problem names")
    args = ap.parse_args()
    results = run_all(args.bench, args.repeats, args.references, args.only)
    text = json.dumps(results, indent=1)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    else:
        print(text)


def load_references(path=None):
    import os
    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "references.json")
    with open(path) as fh:
        return {r["name"]: r["y_end"] for r in json.load(fh)["problems"]}


def run_all(bench, repeats=3, references=None, only=None):
    check = check_against_cpp(bench)
    refs = load_references(references)
    rows = []
    for p in problems():
        if only and p.name not in only.split(","):
            continue
        for method in METHODS:
            for rtol in RTOLS:
                r = run(p, method, rtol, repeats=repeats)
                r.update(problem=p.name, solver="scipy_" + method, rtol=rtol)
                r["scaled_error"] = scaled_error(p, r["y_end"], refs[p.name], rtol) if r["ok"] else None
                del r["y_end"]
                rows.append(r)
                print(f"{p.name:18s} {method:6s} rtol {rtol:.0e}: err {r['scaled_error']}, "
                      f"nfe {r['nfe']}, {r['cpu_ms']:.1f} ms", file=sys.stderr, flush=True)
    return {"check": check, "results": rows}


if __name__ == "__main__":
    main()
