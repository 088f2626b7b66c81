#pragma once
// Finite-difference checks of first and second derivatives, in float64 (PyTorch's gradcheck
// and gradgradcheck; Stan's expect_ad). Used by the tests of every op, layer and solver.
//
// gradcheck compares vᵀJ from backward with central differences of vᵀf, for fixed random
// cotangents v, at every input element; gradgradcheck does the same to the map
// (x, v) ↦ Σ wᵢ·(vᵀ ∂f/∂xᵢ) recorded with create_graph. On failure the message names the worst
// entry: input, flat element, analytic and numeric values. A non-finite value on either side
// (f itself, a difference, or the analytic gradient) is always a failure.
//
// Note [gradcheck tolerances]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// The central difference (g(x+ε) − g(x−ε)) / 2ε of g = vᵀf errs by ε²/6·|g'''| (truncation) plus
// about u·|g|/ε (rounding, u = 1.1e-16 in float64, more when f's own evaluation loses digits).
// The sum is smallest near ε = (3u·|g|/|g'''|)^(1/3) ≈ 7e-6 for |g| ~ |g'''|; we take ε = 5e-6,
// where both terms are about 1e-10 for g, g''' = O(1). Measured over every gradcheck and
// gradgradcheck call in tests/ (op registry, layers, losses, ODEBlock through the solver), the
// largest |analytic − numeric| at ε = 5e-6 was 3e-9 (conv2d, whose vᵀf sums a few hundred
// products); at ε = 1e-6 rounding took it to 2e-8, at 1e-5 the truncation of 1/x at |x| = 0.5 to
// 5e-9. So atol = 2e-8 (7x the worst seen) and rtol = 1e-7: a 1e-6 relative error in a
// derivative of magnitude d is caught whenever 1e-6·d > 2e-8 + 1e-7·d, i.e. for every d > 0.023
// (tests/autodiff/test_gradcheck.cpp shows it, at first and at second order). PyTorch's
// defaults (ε 1e-6, atol 1e-5, rtol 1e-3) let a 0.1% error through.
// Inputs must keep f smooth within ±ε of the sample: away from kinks (abs, relu, max ties)
// and poles, which the op registry's domains ensure.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "odenet/autodiff.hpp"
#include "odenet/core/random.hpp"

namespace odenet::testing {

struct GradcheckOptions {
    double eps = 5e-6;   // central-difference step: Note [gradcheck tolerances]
    double atol = 2e-8;  // |analytic - numeric| <= atol + rtol |numeric|
    double rtol = 1e-7;
    int projections = 2;  // random cotangents v tried
    std::uint64_t seed = 1234;
    /// Draw the cotangents v (and gradgradcheck's weights w) on the grid k/16, |v| < 8: numbers
    /// of at most 7 significant bits, exact in float32, whose products with other short dyadic
    /// numbers stay exact. With inputs on the same grid and eps = 1/16, a polynomial f of degree
    /// ≤ 2 that rounds to float32 inside (to_dtype) is then evaluated and differentiated exactly,
    /// and the float64 tolerances above apply to it unchanged.
    bool dyadic = false;
};

struct GradcheckResult {
    bool ok = true;
    std::string message;
    explicit operator bool() const { return ok; }
};

inline std::ostream& operator<<(std::ostream& os, const GradcheckResult& r) { return os << r.message; }

using MultiFn = std::function<Var(const std::vector<Var>&)>;

namespace detail {

inline std::vector<Var> as_leaves(const std::vector<Var>& inputs) {
    std::vector<Var> leaves;
    for (const Var& x : inputs) leaves.push_back(Var(x.value().clone(), true));
    return leaves;
}

inline double dot(const Var& a, const Var& b) {
    const auto& x = a.value<double>();
    const auto& y = b.value<double>();
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += x.data()[i] * y.data()[i];
    return s;
}

/// Standard normal samples, or with `dyadic` the same rounded to k/16 and clamped to |v| <= 7.9375.
inline Var random_direction(const Shape& shape, Generator& gen, bool dyadic) {
    Tensor<double> v = randn<double>(shape, gen);
    if (dyadic)
        for (double& x : v) x = std::clamp(std::round(x * 16.0), -127.0, 127.0) / 16.0;
    return Var(std::move(v));
}

}  // namespace detail

/// Checks the first derivatives of f at `inputs` (float64). Inputs marked "constant" by
/// requires_grad == false on entry are still checked: every input is differentiated.
inline GradcheckResult gradcheck(const MultiFn& f, const std::vector<Var>& inputs, GradcheckOptions opt = {}) {
    Generator gen(opt.seed);
    std::vector<Var> xs = detail::as_leaves(inputs);
    for (const Var& x : xs) {
        if (x.dtype() != Dtype::float64) return {false, "gradcheck needs float64 inputs"};
    }
    GradcheckResult result;
    double worst = -1;  // the largest excess over the tolerance seen; non-finite entries rank first
    auto report = [&](double excess, std::size_t i, std::size_t k, double exact, double numeric) {
        if (!(excess > worst)) return;
        worst = excess;
        char msg[320];
        std::snprintf(msg, sizeof msg,
                      "gradient mismatch at input %zu, element %zu: analytic %.12g vs numeric %.12g "
                      "(difference %.3g, allowed %.3g)",
                      i, k, exact, numeric, std::abs(exact - numeric), opt.atol + opt.rtol * std::abs(numeric));
        result = {false, msg};
    };
    for (int p = 0; p < opt.projections; ++p) {
        Var y = f(xs);
        if (y.dtype() != Dtype::float64) return {false, "gradcheck needs a float64 output"};
        for (std::size_t k = 0; k < y.value<double>().size(); ++k)
            if (!std::isfinite(y.value<double>().data()[k])) {
                char msg[160];
                std::snprintf(msg, sizeof msg, "f is not finite at the sample point: output element %zu is %g", k,
                              y.value<double>().data()[k]);
                return {false, msg};
            }
        Var v = detail::random_direction(y.shape(), gen, opt.dyadic);
        std::vector<Var> analytic;
        if (!y.requires_grad()) {
            for (const Var& x : xs) analytic.push_back(zeros_like(x));
        } else {
            analytic = grad({y}, xs, {v}, {.allow_unused = true});
        }
        // Evaluated with recording on: f may itself call grad() (gradgradcheck's f does).
        for (std::size_t i = 0; i < xs.size(); ++i) {
            Tensor<double>& xv = xs[i].mutable_value<double>();
            for (std::size_t k = 0; k < xv.size(); ++k) {
                const double saved = xv.data()[k];
                xv.data()[k] = saved + opt.eps;
                const double plus = detail::dot(f(xs), v);
                xv.data()[k] = saved - opt.eps;
                const double minus = detail::dot(f(xs), v);
                xv.data()[k] = saved;
                const double numeric = (plus - minus) / (2 * opt.eps);
                const double exact = analytic[i].value<double>().data()[k];
                if (!std::isfinite(numeric) || !std::isfinite(exact)) {
                    report(HUGE_VAL, i, k, exact, numeric);  // NaN or inf on either side: always a failure
                    continue;
                }
                const double excess = std::abs(exact - numeric) - (opt.atol + opt.rtol * std::abs(numeric));
                if (excess > 0) report(excess, i, k, exact, numeric);
            }
        }
    }
    return result;
}

/// Checks the second derivatives: gradcheck of (x, v) ↦ Σᵢ ⟨wᵢ, grad(f(x), xᵢ, v, create_graph)⟩.
inline GradcheckResult gradgradcheck(const MultiFn& f, const std::vector<Var>& inputs, GradcheckOptions opt = {}) {
    Generator gen(opt.seed + 1);
    std::vector<Var> probe = detail::as_leaves(inputs);
    const Var y0 = f(probe);
    const std::size_t n = inputs.size();
    std::vector<Var> args = inputs;
    args.push_back(detail::random_direction(y0.shape(), gen, opt.dyadic));
    std::vector<Var> ws;
    for (const Var& x : inputs) ws.push_back(detail::random_direction(x.shape(), gen, opt.dyadic));
    MultiFn first_order = [&](const std::vector<Var>& a) {
        std::vector<Var> xs(a.begin(), a.begin() + n);
        Var y = f(xs);
        Var s = zeros({}, Dtype::float64);
        if (!y.requires_grad()) return s;
        std::vector<Var> g = grad({y}, xs, {a[n]}, {.create_graph = true, .allow_unused = true});
        for (std::size_t i = 0; i < n; ++i) s = s + sum(g[i] * ws[i]);
        return s;
    };
    return gradcheck(first_order, args, opt);
}

}  // namespace odenet::testing
