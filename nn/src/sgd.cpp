#include "odenet/optim/sgd.hpp"

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/core/error.hpp"

namespace odenet::optim {

SGD::SGD(std::vector<Var> params, SGDOptions options)
    : Optimizer(std::move(params), options.lr, {"momentum_buffer"}), options_(options) {
    if (options.momentum < 0.0 || options.weight_decay < 0.0 || options.dampening < 0.0) {
        throw ValueError("SGD", "momentum, dampening and weight_decay must be non-negative");
    }
    if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0)) {
        throw ValueError("SGD", "Nesterov momentum needs momentum > 0 and dampening = 0");
    }
}

void SGD::step() {
    NoGradGuard no_grad;
    const SGDOptions& o = options_;
    const double lr_now = lr();
    for_each_with_grad([&](std::size_t i, auto& p, const auto& g) {
        using T = typename std::decay_t<decltype(p)>::value_type;
        const T lr = static_cast<T>(lr_now), wd = static_cast<T>(o.weight_decay), mu = static_cast<T>(o.momentum);
        const T damp = static_cast<T>(1.0 - o.dampening);
        const std::size_t n = p.size();
        T* pd = p.data();
        const T* gd = g.data();
        T* buf = nullptr;
        bool first = false;
        if (o.momentum != 0.0) {
            Value& b = slot(i, 0);
            first = !b.defined();
            if (first) b = Value(Tensor<T>(p));  // shape and dtype of p; filled below
            buf = b.as_mutable<T>().data();
        }
        for (std::size_t k = 0; k < n; ++k) {
            T d = gd[k] + wd * pd[k];
            if (buf) {
                buf[k] = first ? d : mu * buf[k] + damp * d;
                d = o.nesterov ? d + mu * buf[k] : buf[k];
            }
            pd[k] -= lr * d;
        }
        ++steps(i);
    });
}

}  // namespace odenet::optim
