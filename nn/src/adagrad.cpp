#include "odenet/optim/adagrad.hpp"

#include <cmath>

#include "odenet/autodiff/grad_mode.hpp"
#include "option_checks.hpp"

namespace odenet::optim {

namespace {
const AdagradOptions& checked(const AdagradOptions& o) {
    detail::require_non_negative("Adagrad", "lr", o.lr);
    detail::require_non_negative("Adagrad", "lr_decay", o.lr_decay);
    detail::require_non_negative("Adagrad", "weight_decay", o.weight_decay);
    detail::require_non_negative("Adagrad", "initial_accumulator_value", o.initial_accumulator_value);
    detail::require_non_negative("Adagrad", "eps", o.eps);
    return o;
}

template <class T>
Value filled(const Shape& shape, double x) {
    Tensor<T> t = Tensor<T>::from_shape(shape);
    t.fill(static_cast<T>(x));
    return Value(std::move(t));
}
}  // namespace

Adagrad::Adagrad(std::vector<Var> params, AdagradOptions options)
    : Optimizer(std::move(params), checked(options).lr, {"sum"}), options_(options) {
    for (std::size_t i = 0; i < this->params().size(); ++i) {
        const Var& p = this->params()[i];
        slot(i, 0) = p.dtype() == Dtype::float32 ? filled<float>(p.shape(), options.initial_accumulator_value)
                                                 : filled<double>(p.shape(), options.initial_accumulator_value);
    }
}

void Adagrad::step() {
    NoGradGuard no_grad;
    const AdagradOptions& o = options_;
    const double lr_now = lr();
    for_each_with_grad([&](std::size_t i, auto& p, const auto& g) {
        using T = typename std::decay_t<decltype(p)>::value_type;
        // A state loaded without "sum" (a checkpoint of a parameter never stepped) starts where
        // construction would have started it.
        if (!slot(i, 0).defined()) slot(i, 0) = filled<T>(p.shape(), o.initial_accumulator_value);
        const long t = ++steps(i);
        const T clr = static_cast<T>(lr_now / (1.0 + static_cast<double>(t - 1) * o.lr_decay));
        const T wd = static_cast<T>(o.weight_decay), eps = static_cast<T>(o.eps);
        T* s = slot(i, 0).as_mutable<T>().data();
        T* pd = p.data();
        const T* gd = g.data();
        for (std::size_t k = 0; k < p.size(); ++k) {
            const T gk = gd[k] + wd * pd[k];
            s[k] += gk * gk;
            pd[k] -= clr * (gk / (std::sqrt(s[k]) + eps));
        }
    });
}

}  // namespace odenet::optim
