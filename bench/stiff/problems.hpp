#pragma once
// The stiff test problems of the work-precision benchmark (bench_stiff.cpp, issue #21), written
// as plain C++ over double arrays: right-hand side f(t, y, dydt), analytic Jacobian (dense,
// row-major, J[i*n + j] = df_i/dy_j), initial state, time span and the absolute-tolerance rule.
// bench/stiff/scipy_peer.py holds the same problems in Python; `bench_stiff --stiff_dump`
// prints f and J at two points per problem so that the script can check the two agree.
//
// Sources (the equations and constants were written from the published descriptions):
//   [HW]  E. Hairer, G. Wanner, Solving Ordinary Differential Equations II, 2nd ed., Springer
//         1996: Sec. IV.1 (Robertson, Van der Pol, Oregonator), Sec. IV.10 (the test problems
//         ROBER, VDPOL, OREGO, HIRES, E5, BRUSS), Sec. IV.15 (Prothero-Robinson).
//   [TS]  F. Mazzia, C. Magherini et al., Test Set for IVP Solvers, Univ. of Bari
//         (www.dm.uniba.it/~testset): problem descriptions and reference solutions of HIRES,
//         Pollution (pollu), OREGO, E5, ROBER (Robertson on [0, 1e11]).
//
// Tolerances. Every solver in the benchmark gets rtol and atol_i = rtol * atol_scale (one
// scale per problem, because odenet's Options::atol is a scalar; CVODE and SciPy are given the
// same value for every component). The error measured at the end is the scaled error
//   max_i |y_i - ref_i| / (atol_i + rtol |ref_i|),
// so "tolerance proportionality" (issue #21) means scaled error <= 10.
#include <cmath>
#include <cstddef>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

namespace stiff {

using Rhs = std::function<void(double t, const double* y, double* dydt)>;
using Jac = std::function<void(double t, const double* y, double* J)>;  // row-major n x n

struct Problem {
    std::string name;
    std::size_t n = 0;
    double t0 = 0.0;
    double t_end = 0.0;
    std::vector<double> y0;
    double atol_scale = 1.0;  ///< atol_i = rtol * atol_scale for every component
    bool autonomous = true;   ///< f does not read t
    Rhs f;
    Jac jac;
    std::string source;       ///< where the definition comes from (printed in the JSON context)
};

// ---- Robertson's chemical kinetics [HW IV.1 (1.3), IV.10 ROBER; TS "rober"] -------------------
// y1' = -0.04 y1 + 1e4 y2 y3, y2' = 0.04 y1 - 1e4 y2 y3 - 3e7 y2^2, y3' = 3e7 y2^2,
// y(0) = (1, 0, 0), t in [0, 1e11] (the test set's span, which gives a reference at 1e11).
// atol_scale 1e-6: y2 is at most 3.65e-5; y1 and y2 decay to 2e-8 and 8e-14 at the end.
inline Problem robertson() {
    Problem p;
    p.name = "robertson";
    p.n = 3;
    p.t_end = 1e11;
    p.y0 = {1.0, 0.0, 0.0};
    p.atol_scale = 1e-6;
    p.source = "HW IV.10 ROBER / Bari test set rober, t_end = 1e11";
    p.f = [](double, const double* y, double* d) {
        d[0] = -0.04 * y[0] + 1e4 * y[1] * y[2];
        d[2] = 3e7 * y[1] * y[1];
        d[1] = -d[0] - d[2];
    };
    p.jac = [](double, const double* y, double* J) {
        J[0] = -0.04;  J[1] = 1e4 * y[2];                   J[2] = 1e4 * y[1];
        J[3] = 0.04;   J[4] = -1e4 * y[2] - 6e7 * y[1];    J[5] = -1e4 * y[1];
        J[6] = 0.0;    J[7] = 6e7 * y[1];                   J[8] = 0.0;
    };
    return p;
}

// ---- Van der Pol, mu = 1000, unscaled [HW IV.1 (1.5) before the rescaling of time] ------------
// y1' = y2, y2' = mu (1 - y1^2) y2 - y1, y(0) = (2, 0), t in [0, 2000] (MATLAB's vdp1000 with
// a shorter span). The limit cycle's period is about (3 - 2 ln 2) mu = 1614; t = 2000 falls in a
// slow phase (y1 near 1.7), not in a jump, so the end state is not dominated by a jump's timing.
// (The form y2' = mu ((1 - y1^2) y2 - y1) is HW's scaled problem with eps = 1/mu: its period is
// about 1.6, so [0, 2000] would be ~1240 relaxation cycles.) atol_scale 1e-3: in the slow
// phases y2 = y1' is O(1/mu).
inline Problem van_der_pol() {
    constexpr double mu = 1000.0;
    Problem p;
    p.name = "vdpol_mu1000";
    p.n = 2;
    p.t_end = 2000.0;
    p.y0 = {2.0, 0.0};
    p.atol_scale = 1e-3;
    p.source = "HW IV.1 Van der Pol, unscaled, mu = 1000, t_end = 2000";
    p.f = [](double, const double* y, double* d) {
        d[0] = y[1];
        d[1] = mu * (1.0 - y[0] * y[0]) * y[1] - y[0];
    };
    p.jac = [](double, const double* y, double* J) {
        J[0] = 0.0;                              J[1] = 1.0;
        J[2] = -2.0 * mu * y[0] * y[1] - 1.0;    J[3] = mu * (1.0 - y[0] * y[0]);
    };
    return p;
}

// ---- HIRES, 8 components [HW IV.10 HIRES; TS "hires"] -----------------------------------------
// Schaefer's growth-and-differentiation model as in the test set: t in [0, 321.8122],
// y(0) = (1, 0, 0, 0, 0, 0, 0, 0.0057). atol_scale 1e-4 (the components are 1e-4 .. 1).
inline Problem hires() {
    Problem p;
    p.name = "hires";
    p.n = 8;
    p.t_end = 321.8122;
    p.y0 = {1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0057};
    p.atol_scale = 1e-4;
    p.source = "HW IV.10 HIRES / Bari test set hires";
    p.f = [](double, const double* y, double* d) {
        d[0] = -1.71 * y[0] + 0.43 * y[1] + 8.32 * y[2] + 0.0007;
        d[1] = 1.71 * y[0] - 8.75 * y[1];
        d[2] = -10.03 * y[2] + 0.43 * y[3] + 0.035 * y[4];
        d[3] = 8.32 * y[1] + 1.71 * y[2] - 1.12 * y[3];
        d[4] = -1.745 * y[4] + 0.43 * y[5] + 0.43 * y[6];
        const double r = 280.0 * y[5] * y[7];
        d[5] = -r + 0.69 * y[3] + 1.71 * y[4] - 0.43 * y[5] + 0.69 * y[6];
        d[6] = r - 1.81 * y[6];
        d[7] = -r + 1.81 * y[6];
    };
    p.jac = [](double, const double* y, double* J) {
        for (int k = 0; k < 64; ++k) J[k] = 0.0;
        auto at = [J](int i, int j) -> double& { return J[8 * i + j]; };
        at(0, 0) = -1.71; at(0, 1) = 0.43; at(0, 2) = 8.32;
        at(1, 0) = 1.71;  at(1, 1) = -8.75;
        at(2, 2) = -10.03; at(2, 3) = 0.43; at(2, 4) = 0.035;
        at(3, 1) = 8.32;  at(3, 2) = 1.71; at(3, 3) = -1.12;
        at(4, 4) = -1.745; at(4, 5) = 0.43; at(4, 6) = 0.43;
        at(5, 3) = 0.69;  at(5, 4) = 1.71; at(5, 5) = -280.0 * y[7] - 0.43; at(5, 6) = 0.69;
        at(5, 7) = -280.0 * y[5];
        at(6, 5) = 280.0 * y[7];  at(6, 6) = -1.81; at(6, 7) = 280.0 * y[5];
        at(7, 5) = -280.0 * y[7]; at(7, 6) = 1.81;  at(7, 7) = -280.0 * y[5];
    };
    return p;
}

// ---- Oregonator (OREGO) [HW IV.1 (1.4), IV.10 OREGO; TS "orego"] -----------------------------
// y1' = s (y2 + y1 (1 - q y1 - y2)), y2' = (y3 - (1 + y1) y2) / s, y3' = w (y1 - y3),
// s = 77.27, q = 8.375e-6, w = 0.161, y(0) = (1, 2, 3), t in [0, 360]. atol_scale 1 (the
// components stay above ~1 and reach 1e5).
inline Problem orego() {
    constexpr double s = 77.27, q = 8.375e-6, w = 0.161;
    Problem p;
    p.name = "orego";
    p.n = 3;
    p.t_end = 360.0;
    p.y0 = {1.0, 2.0, 3.0};
    p.atol_scale = 1.0;
    p.source = "HW IV.10 OREGO / Bari test set orego";
    p.f = [](double, const double* y, double* d) {
        d[0] = s * (y[1] + y[0] * (1.0 - q * y[0] - y[1]));
        d[1] = (y[2] - (1.0 + y[0]) * y[1]) / s;
        d[2] = w * (y[0] - y[2]);
    };
    p.jac = [](double, const double* y, double* J) {
        J[0] = s * (1.0 - 2.0 * q * y[0] - y[1]); J[1] = s * (1.0 - y[0]); J[2] = 0.0;
        J[3] = -y[1] / s;                         J[4] = -(1.0 + y[0]) / s; J[5] = 1.0 / s;
        J[6] = w;                                 J[7] = 0.0;               J[8] = -w;
    };
    return p;
}

// ---- E5 chemical pyrolysis [HW IV.10 E5; TS "E5"] ---------------------------------------------
// y1' = -A y1 - B y1 y3, y2' = A y1 - M C y2 y3, y3' = A y1 - B y1 y3 - M C y2 y3 + C y4,
// y4' = B y1 y3 - C y4, A = 7.89e-10, B = 1.1e7, C = 1.13e3, M = 1e6,
// y(0) = (1.76e-3, 0, 0, 0). The test set integrates to t = 1e13, but its reference there was
// computed with a unit roundoff of 1e-19: in double precision the end state at 1e13 is not
// computable. y2 - y3 - y4 is a linear invariant (0); rounding moves it by ~4e-22 in the first
// thousand time units (of the order of eps |y1|), and at 1e13 y2 and y3 are 8.9e-23 and differ by
// y4 ~ 0, so the split between them is rounding noise: SciPy's Radau and BDF at rtol 1e-12 and
// CVODE at 1e-10 give y2, y3 wrong by orders of magnitude (measured while building this bench).
// Here t in [0, 1e5], where y2 ~ 2.4e-12 and the drift of the invariant is 1.5e-10 of it.
// atol_scale 1e-22 (the test set runs E5 with atol 1.7e-24): in effect a relative tolerance.
inline Problem e5() {
    constexpr double A = 7.89e-10, B = 1.1e7, C = 1.13e3, M = 1e6;
    Problem p;
    p.name = "e5";
    p.n = 4;
    p.t_end = 1e5;
    p.y0 = {1.76e-3, 0.0, 0.0, 0.0};
    p.atol_scale = 1e-22;
    p.source = "HW IV.10 E5 / Bari test set E5, t_end = 1e5 (not 1e13)";
    p.f = [](double, const double* y, double* d) {
        const double r1 = A * y[0], r2 = B * y[0] * y[2], r3 = M * C * y[1] * y[2], r4 = C * y[3];
        d[0] = -r1 - r2;
        d[1] = r1 - r3;
        d[2] = r1 - r2 - r3 + r4;
        d[3] = r2 - r4;
    };
    p.jac = [](double, const double* y, double* J) {
        const double MC = M * C;
        J[0] = -A - B * y[2];  J[1] = 0.0;          J[2] = -B * y[0];               J[3] = 0.0;
        J[4] = A;              J[5] = -MC * y[2];   J[6] = -MC * y[1];              J[7] = 0.0;
        J[8] = A - B * y[2];   J[9] = -MC * y[2];   J[10] = -B * y[0] - MC * y[1];  J[11] = C;
        J[12] = B * y[2];      J[13] = 0.0;         J[14] = B * y[0];               J[15] = -C;
    };
    return p;
}

// ---- Pollution, 20 species, 25 reactions [TS "pollu" (Verwer 1994)] ---------------------------
// Mass-action kinetics: reaction j has rate r_j = k_j y_a (y_b), and f_i = sum_j S_ij r_j with
// the stoichiometry S of the test set's description. t in [0, 60]; y(0) = 0 except
// y2 = 0.2, y4 = 0.04, y7 = 0.1, y8 = 0.3, y9 = 0.01, y17 = 0.007. atol_scale 1e-6.
namespace pollution_data {
struct Reaction { double k; int a; int b; };  // species 1-based as in the test set; b = 0: none
inline constexpr Reaction reactions[25] = {
    {0.35, 1, 0},     {26.6, 2, 4},   {1.23e4, 5, 2},  {8.6e-4, 7, 0},   {8.2e-4, 7, 0},
    {1.5e4, 7, 6},    {1.3e-4, 9, 0}, {2.4e4, 9, 6},   {1.65e4, 11, 2},  {9.0e3, 11, 1},
    {2.2e-2, 13, 0},  {1.2e4, 10, 2}, {1.88, 14, 0},   {1.63e4, 1, 6},   {4.8e6, 3, 0},
    {3.5e-4, 4, 0},   {1.75e-2, 4, 0}, {1.0e8, 16, 0}, {4.44e11, 16, 0}, {1.24e3, 17, 6},
    {2.1, 19, 0},     {5.78, 19, 0},  {4.74e-2, 1, 4}, {1.78e3, 19, 1},  {3.12, 20, 0}};
struct Term { int species; int reaction; double coeff; };  // 1-based, as in the description
// f1 = -r1-r10-r14-r23-r24+r2+r3+r9+r11+r12+r22+r25, f2 = -r2-r3-r9-r12+r1+r21, ...
inline constexpr Term terms[] = {
    {1, 1, -1}, {1, 10, -1}, {1, 14, -1}, {1, 23, -1}, {1, 24, -1}, {1, 2, 1}, {1, 3, 1},
    {1, 9, 1}, {1, 11, 1}, {1, 12, 1}, {1, 22, 1}, {1, 25, 1},
    {2, 2, -1}, {2, 3, -1}, {2, 9, -1}, {2, 12, -1}, {2, 1, 1}, {2, 21, 1},
    {3, 15, -1}, {3, 1, 1}, {3, 17, 1}, {3, 19, 1}, {3, 22, 1},
    {4, 2, -1}, {4, 16, -1}, {4, 17, -1}, {4, 23, -1}, {4, 15, 1},
    {5, 3, -1}, {5, 4, 2}, {5, 6, 1}, {5, 7, 1}, {5, 13, 1}, {5, 20, 1},
    {6, 6, -1}, {6, 8, -1}, {6, 14, -1}, {6, 20, -1}, {6, 3, 1}, {6, 18, 2},
    {7, 4, -1}, {7, 5, -1}, {7, 6, -1}, {7, 13, 1},
    {8, 4, 1}, {8, 5, 1}, {8, 6, 1}, {8, 7, 1},
    {9, 7, -1}, {9, 8, -1},
    {10, 12, -1}, {10, 7, 1}, {10, 9, 1},
    {11, 9, -1}, {11, 10, -1}, {11, 8, 1}, {11, 11, 1},
    {12, 9, 1},
    {13, 11, -1}, {13, 10, 1},
    {14, 13, -1}, {14, 12, 1},
    {15, 14, 1},
    {16, 18, -1}, {16, 19, -1}, {16, 16, 1},
    {17, 20, -1},
    {18, 20, 1},
    {19, 21, -1}, {19, 22, -1}, {19, 24, -1}, {19, 23, 1}, {19, 25, 1},
    {20, 25, -1}, {20, 24, 1}};
}  // namespace pollution_data

inline Problem pollution() {
    using namespace pollution_data;
    Problem p;
    p.name = "pollution";
    p.n = 20;
    p.t_end = 60.0;
    p.y0.assign(20, 0.0);
    p.y0[1] = 0.2; p.y0[3] = 0.04; p.y0[6] = 0.1; p.y0[7] = 0.3; p.y0[8] = 0.01; p.y0[16] = 0.007;
    p.atol_scale = 1e-6;
    p.source = "Bari test set pollu (Verwer 1994)";
    p.f = [](double, const double* y, double* d) {
        double r[25];
        for (int j = 0; j < 25; ++j) {
            const Reaction& R = reactions[j];
            r[j] = R.k * y[R.a - 1] * (R.b ? y[R.b - 1] : 1.0);
        }
        for (int i = 0; i < 20; ++i) d[i] = 0.0;
        for (const Term& T : terms) d[T.species - 1] += T.coeff * r[T.reaction - 1];
    };
    p.jac = [](double, const double* y, double* J) {
        for (int k = 0; k < 400; ++k) J[k] = 0.0;
        for (const Term& T : terms) {
            const Reaction& R = reactions[T.reaction - 1];
            double* row = J + 20 * (T.species - 1);
            if (R.b) {  // r = k ya yb
                row[R.a - 1] += T.coeff * R.k * y[R.b - 1];
                row[R.b - 1] += T.coeff * R.k * y[R.a - 1];
            } else {
                row[R.a - 1] += T.coeff * R.k;
            }
        }
    };
    return p;
}

// ---- Prothero-Robinson [HW IV.15 (15.1)] ------------------------------------------------------
// y' = -lambda (y - g(t)) + g'(t), g = sin, lambda = 1e6, y(0) = 0 = g(0), t in [0, 10]; the
// exact solution is y = sin t. Non-autonomous: it checks the order of Rosenbrock methods on
// stiff non-autonomous problems (order reduction).
inline Problem prothero_robinson() {
    constexpr double lambda = 1e6;
    Problem p;
    p.name = "prothero_robinson";
    p.n = 1;
    p.t_end = 10.0;
    p.y0 = {0.0};
    p.atol_scale = 1.0;
    p.autonomous = false;
    p.source = "HW IV.15 Prothero-Robinson, g = sin, lambda = 1e6, t_end = 10";
    p.f = [](double t, const double* y, double* d) { d[0] = -lambda * (y[0] - std::sin(t)) + std::cos(t); };
    p.jac = [](double, const double*, double* J) { J[0] = -lambda; };
    return p;
}

// ---- Brusselator, 1-D diffusion by the method of lines [HW IV.10 BRUSS, with N = 40] ----------
// u_i' = 1 + u_i^2 v_i - 4 u_i + a (N+1)^2 (u_{i-1} - 2 u_i + u_{i+1}),
// v_i' = 3 u_i - u_i^2 v_i + a (N+1)^2 (v_{i-1} - 2 v_i + v_{i+1}),  i = 1..N,
// a = 1/50, boundary u_0 = u_{N+1} = 1, v_0 = v_{N+1} = 3, x_i = i / (N+1),
// u_i(0) = 1 + sin(2 pi x_i), v_i(0) = 3, t in [0, 10]. HW uses N = 500 with a banded solver;
// every solver here factorises a dense Jacobian, so N = 40 (80 unknowns). The state is
// interleaved (u_1, v_1, u_2, v_2, ...). atol_scale 1.
inline constexpr int kBrusselatorN = 40;
inline Problem brusselator() {
    constexpr int N = kBrusselatorN;
    constexpr double a = 1.0 / 50.0;
    constexpr double c = a * (N + 1) * (N + 1);
    Problem p;
    p.name = "brusselator_1d";
    p.n = 2 * N;
    p.t_end = 10.0;
    p.y0.resize(2 * N);
    for (int i = 1; i <= N; ++i) {
        p.y0[2 * (i - 1)] = 1.0 + std::sin(2.0 * std::numbers::pi * i / (N + 1.0));
        p.y0[2 * (i - 1) + 1] = 3.0;
    }
    p.atol_scale = 1.0;
    p.source = "HW IV.10 BRUSS, alpha = 1/50, N = 40 (dense), t_end = 10";
    p.f = [](double, const double* y, double* d) {
        for (int i = 0; i < N; ++i) {
            const double u = y[2 * i], v = y[2 * i + 1];
            const double ul = i > 0 ? y[2 * i - 2] : 1.0, ur = i < N - 1 ? y[2 * i + 2] : 1.0;
            const double vl = i > 0 ? y[2 * i - 1] : 3.0, vr = i < N - 1 ? y[2 * i + 3] : 3.0;
            d[2 * i] = 1.0 + u * u * v - 4.0 * u + c * (ul - 2.0 * u + ur);
            d[2 * i + 1] = 3.0 * u - u * u * v + c * (vl - 2.0 * v + vr);
        }
    };
    p.jac = [](double, const double* y, double* J) {
        constexpr int n = 2 * N;
        for (int k = 0; k < n * n; ++k) J[k] = 0.0;
        for (int i = 0; i < N; ++i) {
            const double u = y[2 * i], v = y[2 * i + 1];
            double* ru = J + (2 * i) * n;      // row of u_i'
            double* rv = J + (2 * i + 1) * n;  // row of v_i'
            ru[2 * i] = 2.0 * u * v - 4.0 - 2.0 * c;
            ru[2 * i + 1] = u * u;
            rv[2 * i] = 3.0 - 2.0 * u * v;
            rv[2 * i + 1] = -u * u - 2.0 * c;
            if (i > 0) { ru[2 * i - 2] = c; rv[2 * i - 1] = c; }
            if (i < N - 1) { ru[2 * i + 2] = c; rv[2 * i + 3] = c; }
        }
    };
    return p;
}

/// All eight, in the order of the tables.
inline const std::vector<Problem>& problems() {
    static const std::vector<Problem> all = {robertson(), van_der_pol(), hires(), orego(), e5(),
                                             pollution(), prothero_robinson(), brusselator()};
    return all;
}

/// The scaled error of y against ref at tolerance rtol (see the header comment).
inline double scaled_error(const Problem& p, const double* y, const std::vector<double>& ref,
                           double rtol) {
    double worst = 0.0;
    for (std::size_t i = 0; i < p.n; ++i) {
        const double tol = rtol * p.atol_scale + rtol * std::abs(ref[i]);
        const double e = std::abs(y[i] - ref[i]) / tol;
        if (!(e <= worst)) worst = e;  // NaN propagates
    }
    return worst;
}

}  // namespace stiff
