#pragma once
// The stiff solve: the implicit methods of implicit.hpp and the explicit-implicit switching of
// Options::stiff_switch, over a state flattened to doubles. Internal: use solve() (solve.hpp),
// which routes here for an implicit method or a stiff_switch.
//
// Why flat doubles: the implicit steps need the state as one vector (a Jacobian, LU solves),
// and compiled once in the library the loop costs callers no compile time. A state of floats is
// widened for the linear algebra and narrowed for every call of f, so f sees its own type.
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/rk_step.hpp"
#include "odenet/ode/solution.hpp"
#include "odenet/ode/state_ops.hpp"

namespace odenet::ode::detail {

/// dydt = f(t, y) over n doubles.
using FlatRhs = std::function<void(double t, const double* y, double* dydt)>;

/// The linear algebra of the implicit steps: W = I − hγJ with J = ∂f/∂y at the step's start.
/// The default (dense_algebra) holds J as dense blocks; odeint's adjoint supplies one that
/// knows the adjoint system's structure.
class LinearAlgebra {
public:
    virtual ~LinearAlgebra() = default;
    /// Evaluates J at (t, y), where f(t, y) = f0 (null: not known, evaluate it if needed).
    /// Returns the evaluations of f it spent.
    virtual std::size_t jacobian(double t, const double* y, const double* f0) = 0;
    /// Factorises W = I − hγJ for the last J. Returns false when W is singular.
    virtual bool factor(double hgamma) = 0;
    /// x ← W⁻¹ x.
    virtual void solve(double* x) = 0;
    /// An upper bound of J's spectral radius (the largest absolute row sum of a block), for
    /// deciding that an explicit method would be stable again.
    virtual double spectral_bound() const = 0;
};

/// J supplied by options.jacobian, else by forward differences of f (per block, the columns of
/// all blocks perturbed at once, Curtis, Powell & Reid 1974), factorised per block by LAPACK.
/// f_eps: the machine epsilon of f's own arithmetic (float's for a float32 state), which sets the
/// differences' step.
std::unique_ptr<LinearAlgebra> dense_algebra(const FlatRhs& f, std::size_t n, const Options& options, double f_eps);

/// y(t + θh) = (1 − θ) y0 + θ y1 + θ (1 − θ) (A + θ B) over one accepted step: the form of
/// Hairer's RODAS interpolant, into which cubic Hermite also fits (A = y0 − y1 + h f0,
/// B = 2 (y1 − y0) − h (f0 + f1)).
void dense_value(const std::vector<double>& y0, const std::vector<double>& y1, const std::vector<double>& A,
                 const std::vector<double>& B, double theta, double* out);

struct FlatSolution {
    std::vector<std::vector<double>> ys;
    std::vector<double> step_ts;
    std::vector<std::vector<double>> step_ys;
    /// With save_steps: each accepted step's interpolant (dense_value), A and B.
    std::vector<std::vector<double>> step_a, step_b;
    SolveStats stats;
    double next_step = 0.0;
};

/// The solve of solve.hpp over flat states. `shape` is the user's state shape (for messages);
/// `algebra` null: dense_algebra(f, n, options, f_eps). f_eps as for dense_algebra (it also sets
/// the step of the difference for ∂f/∂t).
FlatSolution solve_stiff(const FlatRhs& f, const std::vector<double>& y0, const std::vector<std::size_t>& shape,
                         const std::vector<double>& ts, const Options& options, LinearAlgebra* algebra = nullptr,
                         double f_eps = std::numeric_limits<double>::epsilon());

/// solve() for an implicit method or a stiff_switch: State must be one contiguous array (a
/// tensor, std::vector, std::array).
template <class State, class F>
Solution<State> solve_stiff_state(F& f, const State& y0, const std::vector<double>& ts, const Options& options) {
    using Ops = StateOps<State>;
    if constexpr (requires(State& s) { Ops::data(s); }) {
        using T = std::remove_cvref_t<decltype(*Ops::data(std::declval<State&>()))>;
        const std::size_t n = Ops::size(y0);
        State y_buf = y0, dydt = Ops::zeros_like(y0);
        SolveStats uncounted;  // solve_stiff counts evaluations itself
        FlatRhs flat = [&](double t, const double* y, double* out) {
            T* yp = Ops::data(y_buf);
            for (std::size_t i = 0; i < n; ++i) yp[i] = static_cast<T>(y[i]);
            eval_rhs(f, t, y_buf, dydt, 0.0, uncounted);
            const T* dp = Ops::data(dydt);
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(dp[i]);
        };
        std::vector<double> y0_flat(Ops::data(y0), Ops::data(y0) + n);
        FlatSolution flat_sol =
            solve_stiff(flat, y0_flat, Ops::shape(y0), ts, options, nullptr, std::numeric_limits<T>::epsilon());
        auto to_state = [&](const std::vector<double>& v) {
            State s = Ops::zeros_like(y0);
            T* p = Ops::data(s);
            for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<T>(v[i]);
            return s;
        };
        Solution<State> sol;
        sol.ts = ts;
        sol.ys.reserve(flat_sol.ys.size());
        sol.ys.push_back(y0);
        for (std::size_t i = 1; i < flat_sol.ys.size(); ++i) sol.ys.push_back(to_state(flat_sol.ys[i]));
        sol.step_ts = std::move(flat_sol.step_ts);
        for (const auto& v : flat_sol.step_ys) sol.step_ys.push_back(to_state(v));
        sol.stats = flat_sol.stats;
        sol.next_step = flat_sol.next_step;
        return sol;
    } else {
        throw ValueError("solve", std::string(method_name(options.stiff_switch ? *options.stiff_switch : options.method)) +
                                      " needs a state stored as one array (a tensor, std::vector or std::array); "
                                      "odeint's Grad::direct records every stage and cannot run an implicit method");
    }
}

}  // namespace odenet::ode::detail
