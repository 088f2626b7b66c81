#include "odenet/stiff_kinetics/fit.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"

namespace odenet::stiff_kinetics {

Problem::Problem(const Dataset& data, FitOptions options) : options_(options), points_(data.ts.size()) {
    Tensor<double> ts = Tensor<double>::from_shape({points_ + 1});
    ts(0) = 0.0;
    for (std::size_t i = 0; i < points_; ++i) ts(i + 1) = data.ts[i];
    ts_ = Var(ts);
    Tensor<double> y0 = Tensor<double>::from_shape({3});
    y0(0) = 1, y0(1) = 0, y0(2) = 0;
    y0_ = Var(y0);
    observed_ = Var(data.observed);
    Tensor<double> inv = Tensor<double>::from_shape({3});
    for (std::size_t s = 0; s < 3; ++s) inv(s) = 1.0 / data.scale[s];
    inv_scale_ = Var(inv);
}

Var Problem::loss_of(const Var& ys) const {
    const Var predicted = slice(ys, 0, 1, points_ + 1);  // ys[0] is y(0), not an observation
    return mean(square((predicted - to_dtype(observed_, ys.dtype())) * to_dtype(inv_scale_, ys.dtype())));
}

Evaluation Problem::evaluate(const Var& log_k) const {
    const ode::Dynamics f = [log_k](const Var& /*t*/, const Var& y) { return field(log_k, y); };
    ode::OdeintOptions o;
    o.solver.method = options_.method;
    o.solver.rtol = options_.rtol;
    o.solver.atol = options_.atol;
    o.solver.max_steps = 1000000;
    o.solver.autonomous = true;  // f does not read t: the Rosenbrock methods skip ∂f/∂t
    o.grad = options_.grad;
    o.adjoint.seminorm = options_.seminorm;
    o.adjoint.rtol = options_.adjoint_rtol;
    o.adjoint.atol = options_.adjoint_atol;
    ode::OdeintSolution solution = ode::odeint(f, to_dtype(y0_, log_k.dtype()), ts_, {log_k}, o);
    Var loss = loss_of(solution.ys);
    return {std::move(loss), std::move(solution)};
}

std::array<double, 3> Problem::finite_difference_gradient(const Rates& log_k, double h, double rtol, double atol) const {
    NoGradGuard no_grad;
    Problem reference = *this;
    reference.options_.rtol = rtol, reference.options_.atol = atol, reference.options_.dtype = Dtype::float64;
    std::array<double, 3> grad{};
    for (std::size_t i = 0; i < 3; ++i) {
        double value[2];
        for (int side = 0; side < 2; ++side) {
            Tensor<double> shifted = Tensor<double>::from_shape({3});
            for (std::size_t j = 0; j < 3; ++j) shifted(j) = log_k[j] + (j == i ? (side == 0 ? h : -h) : 0.0);
            value[side] = reference.evaluate(Var(shifted)).loss.item();
        }
        grad[i] = (value[0] - value[1]) / (2 * h);
    }
    return grad;
}

}  // namespace odenet::stiff_kinetics
