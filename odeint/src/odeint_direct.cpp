// Grad::direct: the solve runs on Vars, every stage is recorded, and backward is the tape's.
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/odeint/var_state.hpp"
#include "odeint_internal.hpp"
#include "solve_var.hpp"

namespace odenet::ode::detail {

namespace {

// Identity on y whose backward also sends sign·Σ(g·F) to ts: the derivative of a solution with
// respect to its time. For the start (sign −1, row 0) this is dL/dt0 = −⟨dL/dy0, f(t0, y0)⟩; for
// the stacked outputs (sign +1) F holds f(tᵢ, yᵢ) per row, zero in row 0.
Var time_hook(const Var& y, const Var& ts, Var f_values, double sign, bool per_row) {
    if (!ts.requires_grad()) return y;
    const std::size_t n = ts.numel();
    return record("odeint_time", y.value(), {&y, &ts},
                  [f_values, sign, per_row, n, ts_dtype = ts.dtype()](const Var& gy, const BackwardContext& ctx) -> Grads {
                      Var gt;
                      if (ctx.needs(1)) {
                          Var prod = gy * f_values;
                          if (per_row) {
                              std::vector<int> axes;
                              for (std::size_t a = 1; a < prod.dim(); ++a) axes.push_back(int(a));
                              gt = to_dtype(sum(prod, axes) * sign, ts_dtype);
                          } else {
                              Tensor<double> onehot = xt::zeros<double>({n});
                              onehot(0) = sign;
                              gt = to_dtype(sum(prod), ts_dtype) * Var(std::move(onehot));
                          }
                      }
                      return {gy, gt};
                  });
}

// Identity whose backward checks the loss's gradient, so that a NaN arriving from the loss is
// named here, as in the adjoint modes, rather than found later in the weights.
Var loss_gradient_check(const Var& ys, const std::vector<double>& times) {
    return record("odeint_direct", ys.value(), {&ys}, [times](const Var& gy, const BackwardContext&) -> Grads {
        check_loss_gradient(gy.value(), times, Grad::direct);
        return {gy};
    });
}

}  // namespace

OdeintSolution odeint_direct(const Problem& p) {
    const Dtype dtype = p.y0.dtype();
    const Dynamics& f = p.f;
    auto timed = [&f, dtype](double t, const Var& y) { return f(Var::scalar(t, dtype), y); };
    Var start = p.y0;
    if (p.ts.requires_grad()) {
        Var f0;
        {
            NoGradGuard no_grad;
            f0 = f(Var::scalar(p.times[0], dtype), p.y0.detach());
        }
        start = time_hook(p.y0, p.ts, f0, -1.0, false);
    }
    Solution<Var> sol = solve_var(timed, start, p.times, p.options.solver);
    sol.ys[0] = p.y0;  // the output at t0 is y0 itself: it does not move with t0
    Var ys = loss_gradient_check(stack(sol.ys, 0), p.times);
    if (p.ts.requires_grad()) {
        Var f_values;
        {
            NoGradGuard no_grad;
            std::vector<Var> fs{zeros_like(p.y0)};
            for (std::size_t i = 1; i < p.times.size(); ++i)
                fs.push_back(f(Var::scalar(p.times[i], dtype), sol.ys[i].detach()));
            f_values = stack(fs, 0);
        }
        ys = time_hook(ys, p.ts, f_values, 1.0, true);
    }
    return OdeintSolution(ys, sol.stats, nullptr);
}

}  // namespace odenet::ode::detail
