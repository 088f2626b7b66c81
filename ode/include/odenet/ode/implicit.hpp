#pragma once
// Implicit methods for stiff problems, as data: two Rosenbrock methods and one ESDIRK pair, run
// by the stiff stepper (detail/stiff.hpp) with a Jacobian of f that is supplied, computed by the
// autodiff engine (odeint) or by differences, and LU factorisations through LAPACK.
//
// Which and why (issue #21):
//   rodas4        Hairer & Wanner's RODAS, order 4(3), 6 stages, L-stable and stiffly accurate:
//                 the workhorse from moderate to tight tolerances (1e-4 .. 1e-10).
//   rosenbrock23  Shampine & Reichelt's ode23s pair, order 2(3), L-stable, a W-method (order 2
//                 with any approximation of J): cheap per step, for loose tolerances and for
//                 Jacobians that are only approximate.
//   trbdf2        Hosea & Shampine's TR-BDF2, an ESDIRK pair of order 2(3), L-stable, solved by
//                 simplified Newton iterations whose Jacobian is kept across steps while they
//                 converge: the choice when f is expensive and J changes slowly.
#include <string>
#include <vector>

#include "odenet/ode/tableau.hpp"

namespace odenet::ode {

/// A Rosenbrock method in the form of Hairer & Wanner II, Sec. IV.7, eq. (7.4''), which needs
/// no products with J: with W = I/(hγ) − J,
///   W U_i = f(t + c_i h, y + Σ_{j<i} a_ij U_j) + Σ_{j<i} (C_ij / h) U_j + γ_i h ∂f/∂t,
///   y1 = y + Σ m_j U_j,   err = Σ e_j U_j.
struct RosenbrockTableau {
    std::string name{};
    int order = 0;        ///< of y1
    int error_order = 0;  ///< order of the error estimate's lower member (the controller's exponent)
    double gamma = 0.0;   ///< the diagonal γ
    std::vector<double> c{};                ///< stage times c_i
    std::vector<double> gamma_sum{};        ///< γ_i = Σ_j γ_ij, the coefficients of ∂f/∂t
    std::vector<std::vector<double>> a{};   ///< a[i].size() == i
    std::vector<std::vector<double>> C{};   ///< C[i].size() == i
    std::vector<double> m{};
    std::vector<double> e{};
    /// The last stage is evaluated at (t + h, y1): its f is the next step's first (ode23s).
    bool fsal = false;
    /// Dense output in the form of Hairer's RODAS: for θ in [0, 1],
    /// y(t + θh) = (1 − θ) y + θ y1 + θ (1 − θ) (Σ d2_j U_j + θ Σ d3_j U_j).
    std::vector<double> d2{};
    std::vector<double> d3{};

    int stages() const { return static_cast<int>(c.size()); }
};

/// An explicit-first-stage singly diagonally implicit Runge-Kutta pair (ESDIRK): stage 0 is
/// f(t, y); stage i ≥ 1 solves Z_i = y + h Σ_{j<i} a_ij k_j + h γ f(t + c_i h, Z_i).
struct EsdirkTableau {
    std::string name{};
    int order = 0;
    int error_order = 0;
    double gamma = 0.0;
    std::vector<double> c{};
    std::vector<std::vector<double>> a{};  ///< a[i].size() == i, the diagonal γ apart
    std::vector<double> b{};
    std::vector<double> b_err{};           ///< b − b̂

    int stages() const { return static_cast<int>(c.size()); }
};

/// True for rosenbrock23 and rodas4; false for trbdf2 and every explicit method.
bool is_rosenbrock(Method method);

/// The coefficients of a Rosenbrock method. Throws ValueError for any other method.
const RosenbrockTableau& rosenbrock_tableau(Method method);

/// The coefficients of an ESDIRK method. Throws ValueError for any other method.
const EsdirkTableau& esdirk_tableau(Method method);

}  // namespace odenet::ode
