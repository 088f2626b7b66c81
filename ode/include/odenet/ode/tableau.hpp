#pragma once
// Explicit Runge-Kutta methods as data. Every method odenet offers is one ButcherTableau run by
// the one generic stepper in rk_step.hpp; nothing about a method lives in code.
//
// Stage numbering used throughout ode/: stages 0..s-1 are the method's stages; index s is
// f1 = f(t + h, y1), the derivative at the end of an accepted step (for FSAL methods it is
// stage s-1 itself, otherwise it is the next step's first stage, so it costs nothing extra);
// indices s+1, ... are the extra stages a continuous extension may need (dop853 has three).
#include <string>
#include <string_view>
#include <vector>

namespace odenet::ode {

/// A continuous extension (dense output) over the stages of one step: for theta in [0, 1],
/// y(t + theta h) = y0 + h * sum_j w_j(theta) k_j, with w_j(theta) = sum_m poly[j][m] theta^(m+1).
struct DenseTableau {
    int order = 0;                            ///< order of the interpolant (3 for cubic Hermite)
    std::vector<double> c_extra{};              ///< nodes of the extra stages s+1, ...
    std::vector<std::vector<double>> a_extra{};  ///< a_extra[i] over stages 0 .. s+i (f1 included)
    std::vector<std::vector<double>> poly{};    ///< poly[j], j over every dense stage 0 .. s+extra
};

struct ButcherTableau {
    std::string name{};
    int order = 0;        ///< order of the propagated solution
    int error_order = 0;  ///< order of the embedded solution (0: no error estimate, fixed-step only)
    std::vector<double> c{};                  ///< nodes c_i, i = 0..s-1, c_0 = 0
    std::vector<std::vector<double>> a{};     ///< strictly lower triangle, a[i].size() == i
    std::vector<double> b{};                  ///< weights of the propagated solution
    std::vector<double> b_err{};              ///< b - b_hat (empty for fixed-step methods)
    /// A second, lower-order estimate combined with b_err as in Hairer's DOP853 (empty otherwise):
    /// err = e5^2 / sqrt(e5^2 + 0.01 e3^2), Hairer, Norsett & Wanner I, Sec. II.10.
    std::vector<double> b_err_low{};
    DenseTableau dense{};  ///< the method's own continuous extension, or cubic Hermite

    int stages() const { return static_cast<int>(c.size()); }
    bool adaptive() const { return !b_err.empty(); }
    /// First same as last: the last stage is evaluated at (t + h, y1), so it is the next step's
    /// first stage. Derived from the numbers (c_last == 1 and a_last == b), never declared.
    bool fsal() const;
};

/// Throws ValueError naming the tableau and the failing identity unless: a is strictly lower
/// triangular, sum_j a_ij = c_i, sum b = 1, sum b_err = 0, the dense weights reproduce b at
/// theta = 1 and the extra stages are consistent. Tolerance 1e-12 (coefficients are rounded
/// decimal expansions of rationals, good to about 1e-16 each).
void validate(const ButcherTableau& tableau);

/// Every method odenet offers; each is one row of the registry in ode/src/tableaus.cpp (Note
/// [Method registry]), which names it and, for a Runge-Kutta method, builds its tableau.
/// leapfrog and yoshida4 are symplectic splitting methods for separable Hamiltonian systems
/// over (q, p) states, fixed step only (symplectic.hpp); they have no Butcher tableau.
/// rosenbrock23, rodas4 and trbdf2 are implicit methods for stiff problems (implicit.hpp): they
/// need a Jacobian of f (supplied, from the autodiff engine in odeint, or by differences).
enum class Method {
    euler, midpoint, heun, rk4, rk4_38, bosh3, fehlberg2, dopri5, tsit5, dop853, leapfrog, yoshida4,
    rosenbrock23, rodas4, trbdf2
};

/// The tableau of a Runge-Kutta method; built once, shared for the life of the program.
/// Throws ValueError for a symplectic method (it has none; see symplectic.hpp) and for an implicit
/// one (implicit.hpp).
const ButcherTableau& tableau(Method method);

/// True for the symplectic splitting methods (leapfrog, yoshida4), which solve() runs with the
/// partitioned stepper of symplectic.hpp instead of the Runge-Kutta one.
bool is_symplectic(Method method);

/// "dopri5" for Method::dopri5. Throws ValueError for a value not in the registry.
std::string_view method_name(Method method);

/// Method::dopri5 for "dopri5". Throws ValueError listing the valid names.
Method method_from_name(std::string_view name);

/// Every Runge-Kutta method (each has a tableau), in the order of the enum. The symplectic
/// methods are apart (symplectic_methods()): they need a fixed step and a (q, p) state, so code
/// that offers "any method" for general dynamics (tests over every tableau, the examples'
/// --solver lists, odeint) keeps to these.
const std::vector<Method>& all_methods();

/// leapfrog and yoshida4, in the order of the enum.
const std::vector<Method>& symplectic_methods();

/// True for the implicit methods for stiff problems (rosenbrock23, rodas4, trbdf2), which
/// solve() runs with the stiff stepper of implicit.hpp.
bool is_implicit(Method method);

/// rosenbrock23, rodas4 and trbdf2, in the order of the enum.
const std::vector<Method>& implicit_methods();

/// Cubic Hermite dense weights for a tableau without its own continuous extension: interpolates
/// y0, y1, f0 and f1 (order 3).
DenseTableau hermite_dense(const std::vector<double>& b);

}  // namespace odenet::ode
