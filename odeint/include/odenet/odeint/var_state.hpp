#pragma once
// StateOps for autodiff's Var (see Note [State requirements] in state_ops.hpp): the same
// stepper, controller and dense output run on Vars and every stage is recorded, which is
// backprop through the solver ("discretise then optimise"). Stage sums are one
// linear_combination node each; error norms and finiteness checks read values only, so
// accepted-step decisions are not differentiated (as in torchdiffeq).
#include <algorithm>

#include "odenet/autodiff/ops.hpp"
#include "odenet/ode/state_ops.hpp"

namespace odenet::ode {

template <>
struct StateOps<Var> {
    static Var zeros_like(const Var& x) { return odenet::zeros_like(x); }
    static void copy(Var& dst, const Var& src) { dst = src; }
    static void lincomb(Var& out, const Var* y, double h, const double* c, const Var* const* k, int n) {
        std::vector<Var> xs;
        std::vector<double> coeffs;
        xs.reserve(n + 1);
        coeffs.reserve(n + 1);
        if (y) {
            xs.push_back(*y);
            coeffs.push_back(1.0);
        }
        for (int j = 0; j < n; ++j) {
            xs.push_back(*k[j]);
            coeffs.push_back(h * c[j]);
        }
        out = xs.empty() ? odenet::zeros_like(out) : linear_combination(xs, coeffs);
    }
    /// x += a k on the flat elements [begin, end) only: one half-step of the symplectic methods
    /// (partitioned.hpp). Recorded as x + a (mask k), mask a constant 0/1 tensor of x's dtype,
    /// so the tape sees a plain linear combination (its backward masks the cotangent of k).
    static void half_axpy(Var& x, double a, const Var& k, std::size_t begin, std::size_t end) {
        const Var mask = x.value().visit([&](const auto& v) {
            using T = typename std::decay_t<decltype(v)>::value_type;
            Tensor<T> m(v.shape(), T(0));
            std::fill(m.data() + begin, m.data() + end, T(1));
            return Var(std::move(m));
        });
        x = linear_combination({x, mask * k}, {1.0, a});
    }
    static std::size_t size(const Var& x) { return x.numel(); }
    static bool single_precision(const Var& x) { return x.dtype() == Dtype::float32; }
    static std::vector<std::size_t> shape(const Var& x) { return {x.shape().begin(), x.shape().end()}; }
    static bool same_shape(const Var& a, const Var& b) { return a.shape() == b.shape(); }

    static double rms_error(const Var& err, const Var& y0, const Var& y1, double rtol, double atol) {
        return err.value().visit([&](const auto& e) {
            using T = typename std::decay_t<decltype(e)>::value_type;
            return detail::rms_error(e.data(), y0.value<T>().data(), y1.value<T>().data(), rtol, atol, e.size());
        });
    }
    static void scaled_error(double* out, const Var& err, const Var& y0, const Var& y1, double rtol, double atol) {
        err.value().visit([&](const auto& e) {
            using T = typename std::decay_t<decltype(e)>::value_type;
            detail::scaled_error(out, e.data(), y0.value<T>().data(), y1.value<T>().data(), rtol, atol, e.size());
        });
    }
    static std::size_t argmax_scaled_error(const Var& err, const Var& y0, const Var& y1, double rtol, double atol) {
        return err.value().visit([&](const auto& e) {
            using T = typename std::decay_t<decltype(e)>::value_type;
            return detail::argmax_scaled_error(e.data(), y0.value<T>().data(), y1.value<T>().data(), rtol, atol,
                                               e.size());
        });
    }
    static std::size_t first_nonfinite(const Var& x) {
        return x.value().visit([](const auto& t) { return detail::first_nonfinite(t.data(), t.size()); });
    }
    static double value_at(const Var& x, std::size_t i) {
        return x.value().visit([&](const auto& t) { return static_cast<double>(t.data()[i]); });
    }
};

}  // namespace odenet::ode
