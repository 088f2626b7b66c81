#include "odenet/optim/adam.hpp"

#include <cmath>

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/core/error.hpp"

namespace odenet::optim {

Adam::Adam(std::vector<Var> params, AdamOptions options) : Adam(std::move(params), options, false) {}

Adam::Adam(std::vector<Var> params, AdamOptions options, bool decoupled)
    : Optimizer(std::move(params), options.lr, {"exp_avg", "exp_avg_sq"}), options_(options), decoupled_(decoupled) {
    for (double b : options.betas) {
        if (!(b >= 0.0 && b < 1.0)) throw ValueError("Adam", "betas must be in [0, 1), got " + std::to_string(b));
    }
    if (!(options.eps >= 0.0) || !(options.weight_decay >= 0.0)) {
        throw ValueError("Adam", "eps and weight_decay must be non-negative");
    }
}

AdamW::AdamW(std::vector<Var> params, AdamWOptions o)
    : Adam(std::move(params), {.lr = o.lr, .betas = o.betas, .eps = o.eps, .weight_decay = o.weight_decay}, true) {}

void Adam::step() {
    NoGradGuard no_grad;
    const AdamOptions& o = options_;
    const double lr_now = lr();
    for_each_with_grad([&](std::size_t i, auto& p, const auto& g) {
        using T = typename std::decay_t<decltype(p)>::value_type;
        Value& m_slot = slot(i, 0);
        Value& v_slot = slot(i, 1);
        if (!m_slot.defined()) {
            m_slot = Value(Tensor<T>(xt::zeros<T>(p.shape())));
            v_slot = Value(Tensor<T>(xt::zeros<T>(p.shape())));
        }
        const long t = ++steps(i);
        const double bc1 = 1.0 - std::pow(o.betas[0], static_cast<double>(t));
        const double bc2 = 1.0 - std::pow(o.betas[1], static_cast<double>(t));
        const T step_size = static_cast<T>(lr_now / bc1), sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
        const T b1 = static_cast<T>(o.betas[0]), b2 = static_cast<T>(o.betas[1]), eps = static_cast<T>(o.eps);
        // 1 - β in double, then rounded: in float32, 1 - float(0.999) is off by 1.3e-5 relative.
        const T c1 = static_cast<T>(1.0 - o.betas[0]), c2 = static_cast<T>(1.0 - o.betas[1]);
        const T l2 = decoupled_ ? T(0) : static_cast<T>(o.weight_decay);
        const T shrink = decoupled_ ? static_cast<T>(1.0 - lr_now * o.weight_decay) : T(1);
        T* pd = p.data();
        const T* gd = g.data();
        T* m = m_slot.as_mutable<T>().data();
        T* v = v_slot.as_mutable<T>().data();
        for (std::size_t k = 0; k < p.size(); ++k) {
            const T gk = gd[k] + l2 * pd[k];
            pd[k] *= shrink;
            m[k] = b1 * m[k] + c1 * gk;
            v[k] = b2 * v[k] + c2 * gk * gk;
            pd[k] -= step_size * m[k] / (std::sqrt(v[k]) / sqrt_bc2 + eps);
        }
    });
}

}  // namespace odenet::optim
