#include "odenet/optim/clip.hpp"

#include <algorithm>
#include <cmath>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::optim {

double clip_grad_norm(const std::vector<Var>& params, double max_norm, double norm_type) {
    const bool inf = std::isinf(norm_type);
    if (!(inf || norm_type == 2.0)) throw ValueError("clip_grad_norm", "norm_type must be 2 or INFINITY");
    if (!(max_norm >= 0.0)) throw ValueError("clip_grad_norm", "max_norm must be non-negative");
    double acc = 0.0;  // sum of squares, or the maximum
    for (const Var& p : params) {
        if (!p.grad().defined()) continue;
        p.grad().value().visit([&](const auto& g) {
            for (const auto x : g) {
                const double a = std::abs(static_cast<double>(x));
                acc = inf ? std::max(acc, a) : acc + a * a;
            }
        });
    }
    const double total = inf ? acc : std::sqrt(acc);
    const double scale = max_norm / (total + 1e-6);
    if (scale < 1.0) {
        NoGradGuard no_grad;
        for (const Var& p : params) {
            if (!p.grad().defined()) continue;
            // A new gradient Var rather than an in-place edit: the old one may be part of a graph.
            Var q = p;
            q.set_grad(p.grad().detach() * scale);
        }
    }
    return total;
}

}  // namespace odenet::optim
