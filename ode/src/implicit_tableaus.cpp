// The coefficients of the implicit methods (implicit.hpp), each block citing its source.
#include <cmath>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/ode/implicit.hpp"

namespace odenet::ode {

namespace {

// Hairer & Wanner, Solving ODEs II (2nd ed., 1996), Sec. IV.7, Table 7.2 ("RODAS"), as given in
// their code RODAS (METH = 1). Stiffly accurate: stages 5 and 6 sit at t + h, y1 = Y6 + U6, and
// the error estimate is U6 itself.
RosenbrockTableau make_rodas4() {
    RosenbrockTableau t{.name = "rodas4", .order = 4, .error_order = 3, .gamma = 0.25};
    t.c = {0.0, 0.386, 0.21, 0.63, 1.0, 1.0};
    t.gamma_sum = {0.25, -0.1043, 0.1035, -0.3620000000000023e-01, 0.0, 0.0};
    const double a51 = 0.1221224509226641e+01, a52 = 0.6019134481288629e+01, a53 = 0.1253708332932087e+02,
                 a54 = -0.6878860361058950;
    t.a = {{},
           {0.1544000000000000e+01},
           {0.9466785280815826, 0.2557011698983284},
           {0.3314825187068521e+01, 0.2896124015972201e+01, 0.9986419139977817},
           {a51, a52, a53, a54},
           {a51, a52, a53, a54, 1.0}};
    t.C = {{},
           {-0.5668800000000000e+01},
           {-0.2430093356833875e+01, -0.2063599157091915},
           {-0.1073529058151375, -0.9594562251023355e+01, -0.2047028614809616e+02},
           {0.7496443313967647e+01, -0.1024680431464352e+02, -0.3399990352819905e+02, 0.1170890893206160e+02},
           {0.8083246795921522e+01, -0.7981132988064893e+01, -0.3152159432874371e+02, 0.1631930543123136e+02,
            -0.6058818238834054e+01}};
    t.m = {a51, a52, a53, a54, 1.0, 1.0};
    t.e = {0.0, 0.0, 0.0, 0.0, 0.0, 1.0};
    // The dense output of order 3 published with RODAS (its coefficients D21 .. D35).
    t.d2 = {0.1012623508344586e+02, -0.7487995877610167e+01, -0.3480091861555747e+02, -0.7992771707568823e+01,
            0.1025137723295662e+01, 0.0};
    t.d3 = {-0.6762803392801253, 0.6087714651680015e+01, 0.1643084320892478e+02, 0.2476722511418386e+02,
            -0.6594389125716872e+01, 0.0};
    return t;
}

// Shampine & Reichelt (1997), "The MATLAB ODE suite", SIAM J. Sci. Comput. 18:1-22, Sec. 3
// (ode23s): d = 1/(2 + √2), e32 = 6 + √2. Written there with slopes and W = I − h d J; in the
// standard form (I − hγJ) K_i = h f(y + Σ α_ij K_j) + hJ Σ_{j<i} γ_ij K_j + h² γ_i ∂f/∂t (HW II,
// eq. 7.4) its numbers are γ = d, α_21 = 1/2, α_32 = 1, γ_21 = −d, γ_31 = d (e32 − 2),
// γ_32 = −e32 d, b = (0, 1, 0) and the error (K1 − 2 K2 + K3)/6. from_standard_form() turns them
// into the W-form above (HW II, eq. 7.4'': a = α Γ⁻¹, C = diag(1/γ) − Γ⁻¹, m = b Γ⁻¹).
RosenbrockTableau from_standard_form(RosenbrockTableau t, const std::vector<std::vector<double>>& alpha,
                                     const std::vector<std::vector<double>>& Gamma, const std::vector<double>& b,
                                     const std::vector<double>& e) {
    const int s = static_cast<int>(Gamma.size());
    // Γ is lower triangular: invert by forward substitution, column by column.
    std::vector<std::vector<double>> inv(s, std::vector<double>(s, 0.0));
    for (int col = 0; col < s; ++col)
        for (int i = col; i < s; ++i) {
            double v = i == col ? 1.0 : 0.0;
            for (int j = col; j < i; ++j) v -= Gamma[i][j] * inv[j][col];
            inv[i][col] = v / Gamma[i][i];
        }
    t.a.assign(s, {});
    t.C.assign(s, {});
    for (int i = 0; i < s; ++i)
        for (int j = 0; j < i; ++j) {
            double aij = 0.0;
            for (int k = j; k < i; ++k) aij += alpha[i][k] * inv[k][j];
            t.a[i].push_back(aij);
            t.C[i].push_back(-inv[i][j]);
        }
    t.m.assign(s, 0.0);
    t.e.assign(s, 0.0);
    for (int j = 0; j < s; ++j)
        for (int k = j; k < s; ++k) {
            t.m[j] += b[k] * inv[k][j];
            t.e[j] += e[k] * inv[k][j];
        }
    t.gamma_sum.assign(s, 0.0);
    for (int i = 0; i < s; ++i)
        for (int j = 0; j <= i; ++j) t.gamma_sum[i] += Gamma[i][j];
    return t;
}

RosenbrockTableau make_rosenbrock23() {
    const double d = 1.0 / (2.0 + std::sqrt(2.0)), e32 = 6.0 + std::sqrt(2.0);
    RosenbrockTableau t{.name = "rosenbrock23", .order = 2, .error_order = 2, .gamma = d};
    t.c = {0.0, 0.5, 1.0};
    t.fsal = true;  // stage 3 is f(t + h, y1)
    // ode23s's interpolant y + h [θ(1 − θ) k1 + θ(θ − 2d) k2] / (1 − 2d) is, in the form above,
    // θ(1 − θ)(K1 − K2)/(1 − 2d) with K1 − K2 = −U2/d: d2 = (0, −1/(d(1 − 2d)), 0), d3 = 0.
    t.d2 = {0.0, -1.0 / (d * (1.0 - 2.0 * d)), 0.0};
    t.d3 = {0.0, 0.0, 0.0};
    return from_standard_form(std::move(t), {{}, {0.5}, {0.0, 1.0}},
                              {{d, 0.0, 0.0}, {-d, d, 0.0}, {d * (e32 - 2.0), -e32 * d, d}}, {0.0, 1.0, 0.0},
                              {1.0 / 6, -1.0 / 3, 1.0 / 6});
}

// Hosea & Shampine (1996), "Analysis and implementation of TR-BDF2", Appl. Numer. Math.
// 20:21-37, as an ESDIRK tableau: γ = 2 − √2, d = γ/2, w = √2/4; c = (0, γ, 1),
// A = [[0], [d, d], [w, w, d]], b = (w, w, d) (stiffly accurate), b̂ = ((1 − w)/3, (3w + 1)/3, d/3).
EsdirkTableau make_trbdf2() {
    const double g = 2.0 - std::sqrt(2.0), d = g / 2.0, w = std::sqrt(2.0) / 4.0;
    EsdirkTableau t{.name = "trbdf2", .order = 2, .error_order = 2, .gamma = d};
    t.c = {0.0, g, 1.0};
    t.a = {{}, {d}, {w, w}};
    t.b = {w, w, d};
    const double bh[3] = {(1.0 - w) / 3.0, (3.0 * w + 1.0) / 3.0, d / 3.0};
    for (int j = 0; j < 3; ++j) t.b_err.push_back(t.b[j] - bh[j]);
    return t;
}

}  // namespace

bool is_rosenbrock(Method method) { return method == Method::rodas4 || method == Method::rosenbrock23; }

const RosenbrockTableau& rosenbrock_tableau(Method method) {
    static const RosenbrockTableau rodas4 = make_rodas4(), rosenbrock23 = make_rosenbrock23();
    if (method == Method::rodas4) return rodas4;
    if (method == Method::rosenbrock23) return rosenbrock23;
    throw ValueError("rosenbrock_tableau", std::string(method_name(method)) + " is not a Rosenbrock method");
}

const EsdirkTableau& esdirk_tableau(Method method) {
    static const EsdirkTableau trbdf2 = make_trbdf2();
    if (method == Method::trbdf2) return trbdf2;
    throw ValueError("esdirk_tableau", std::string(method_name(method)) + " is not an ESDIRK method");
}

}  // namespace odenet::ode
