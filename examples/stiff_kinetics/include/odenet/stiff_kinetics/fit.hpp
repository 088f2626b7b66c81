#pragma once
// The fit: the loss of log-rates against a dataset, through a differentiable solve (odeint with
// the adjoint or checkpointed gradient), and its gradient by central differences as a check.
#include <array>
#include <cstddef>

#include "odenet/autodiff/var.hpp"
#include "odenet/odeint/odeint.hpp"
#include "odenet/stiff_kinetics/robertson.hpp"

namespace odenet::stiff_kinetics {

struct FitOptions {
    ode::Method method{};
    double rtol = 1e-6, atol = 1e-10;
    double adjoint_rtol = 1e-6, adjoint_atol = 1e-10;  ///< of the backward solve
    ode::Grad grad = ode::Grad::adjoint;
    /// The adjoint's error norm leaves the parameter-gradient channels out (Kidger, Chen & Lyons 2021).
    bool seminorm = false;
    Dtype dtype = Dtype::float64;
};

/// The loss at one point and the solve behind it.
struct Evaluation {
    Var loss;                      ///< 0-d, of the fit's dtype
    ode::OdeintSolution solution;  ///< ys (points + 1, 3): y(0) and y at every observation time
};

/// The weighted least squares
///   L(log k) = mean over times i and species s of ((y_s(t_i; k) - y_obs,is) / scale_s)^2
/// with scale_s the species' largest observed value. Why this weighting: y2 is ~1e-5 where y1
/// and y3 are ~1, so an unweighted error would ignore y2 (and with it k2 and k3, which only y2's
/// level and y3's slow rise reveal); dividing by each species' own size gives every species a
/// comparable say. Under 1% relative noise a log-space loss would be the likelihood, but it
/// weighs the tiny early values as much as the rest (y3 is 1.6e-11 at t = 1e-5 and below 1e-6
/// until t ~ 3e-4), values that carry little information and sit at or below the solver's
/// absolute tolerance (1e-10), so the solver's error, not the data, would shape the loss there.
class Problem {
public:
    Problem(const Dataset& data, FitOptions options);
    /// The loss at log_k (3,), in log_k's dtype; under a NoGradGuard, nothing is recorded.
    Evaluation evaluate(const Var& log_k) const;
    /// Central differences of the loss in each log k_i with step h, from float64 solves at
    /// rtol/atol (tight: the check's error is then the difference's, not the solver's).
    std::array<double, 3> finite_difference_gradient(const Rates& log_k, double h, double rtol, double atol) const;
    const FitOptions& options() const { return options_; }

private:
    Var loss_of(const Var& ys) const;

    FitOptions options_;
    std::size_t points_;
    // float64; converted to log k's dtype where used
    Var ts_;         ///< (points + 1,): 0 and the observation times
    Var y0_;         ///< (3,) = (1, 0, 0)
    Var observed_;   ///< (points, 3)
    Var inv_scale_;  ///< (3,): 1 / scale
};

}  // namespace odenet::stiff_kinetics
