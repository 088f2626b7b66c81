#include "odenet/optim/rmsprop.hpp"

#include <cmath>

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/grad_mode.hpp"
#include "option_checks.hpp"

namespace odenet::optim {

namespace {
const RMSpropOptions& checked(const RMSpropOptions& o) {
    detail::require_non_negative("RMSprop", "lr", o.lr);
    detail::require_unit_interval("RMSprop", "alpha", o.alpha);
    detail::require_non_negative("RMSprop", "eps", o.eps);
    detail::require_non_negative("RMSprop", "weight_decay", o.weight_decay);
    detail::require_non_negative("RMSprop", "momentum", o.momentum);
    return o;
}

// Slot 0 is always "square_avg"; the others exist only when their option is on.
std::vector<std::string> slot_names(const RMSpropOptions& o) {
    std::vector<std::string> names{"square_avg"};
    if (o.momentum > 0.0) names.emplace_back("momentum_buffer");
    if (o.centered) names.emplace_back("grad_avg");
    return names;
}

// The buffer's data, created as zeros of the parameter's shape and dtype on first use.
template <class T>
T* zeros_on_first_use(Value& slot, const Shape& shape) {
    if (!slot.defined()) slot = Value(Tensor<T>(xt::zeros<T>(shape)));
    return slot.as_mutable<T>().data();
}
}  // namespace

RMSprop::RMSprop(std::vector<Var> params, RMSpropOptions options)
    : Optimizer(std::move(params), checked(options).lr, slot_names(options)), options_(options) {}

void RMSprop::step() {
    NoGradGuard no_grad;
    const RMSpropOptions& o = options_;
    const double lr_now = lr();
    const bool use_momentum = o.momentum > 0.0;
    for_each_with_grad([&](std::size_t i, auto& p, const auto& g) {
        using T = typename std::decay_t<decltype(p)>::value_type;
        const T lr = static_cast<T>(lr_now), wd = static_cast<T>(o.weight_decay), mu = static_cast<T>(o.momentum);
        const T a = static_cast<T>(o.alpha), eps = static_cast<T>(o.eps);
        // 1 - α in double, then rounded: in float32, 1 - float(0.99) is off by 2e-7 relative.
        const T c = static_cast<T>(1.0 - o.alpha);
        T* v = zeros_on_first_use<T>(slot(i, 0), p.shape());
        T* buf = use_momentum ? zeros_on_first_use<T>(slot(i, 1), p.shape()) : nullptr;
        T* g_avg = o.centered ? zeros_on_first_use<T>(slot(i, use_momentum ? 2 : 1), p.shape()) : nullptr;
        T* pd = p.data();
        const T* gd = g.data();
        for (std::size_t k = 0; k < p.size(); ++k) {
            const T gk = gd[k] + wd * pd[k];
            v[k] = a * v[k] + c * gk * gk;
            T d;
            if (g_avg) {
                // v - ḡ² is a variance, >= 0 in exact arithmetic; rounding can make it negative
                // after many identical gradients, and then d is NaN, as in PyTorch.
                g_avg[k] = a * g_avg[k] + c * gk;
                d = std::sqrt(v[k] - g_avg[k] * g_avg[k]) + eps;
            } else {
                d = std::sqrt(v[k]) + eps;
            }
            if (buf) {
                buf[k] = mu * buf[k] + gk / d;
                pd[k] -= lr * buf[k];
            } else {
                pd[k] -= lr * (gk / d);
            }
        }
        ++steps(i);
    });
}

}  // namespace odenet::optim
