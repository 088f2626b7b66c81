#pragma once
// Finite-difference checks of first and second derivatives, in float64 (PyTorch's gradcheck
// and gradgradcheck; Stan's expect_ad). Used by the tests of every op, layer and solver.
//
// gradcheck compares vᵀJ from backward with central differences of vᵀf, for fixed random
// cotangents v, at every input element; gradgradcheck does the same to the map
// (x, v) ↦ Σ wᵢ·(vᵀ ∂f/∂xᵢ) recorded with create_graph. On failure the message names the worst
// entry: input, flat element, analytic and numeric values.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "odenet/autodiff.hpp"
#include "odenet/core/random.hpp"

namespace odenet::testing {

struct GradcheckOptions {
    double eps = 1e-6;   // central-difference step (PyTorch's default)
    double atol = 1e-5;  // |analytic - numeric| <= atol + rtol |numeric|  (PyTorch's defaults)
    double rtol = 1e-3;
    int projections = 2;  // random cotangents v tried
    std::uint64_t seed = 1234;
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
    double worst = -1;
    for (int p = 0; p < opt.projections; ++p) {
        Var y = f(xs);
        Var v(randn<double>(y.shape(), gen));
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
                const double excess = std::abs(exact - numeric) - (opt.atol + opt.rtol * std::abs(numeric));
                if (!std::isfinite(exact) || excess > 0) {
                    if (excess > worst || !std::isfinite(exact)) {
                        worst = std::isfinite(exact) ? excess : 1e300;
                        char msg[256];
                        std::snprintf(msg, sizeof msg,
                                      "gradient mismatch at input %zu, element %zu: analytic %.10g vs numeric %.10g", i, k,
                                      exact, numeric);
                        result = {false, msg};
                    }
                }
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
    args.push_back(Var(randn<double>(y0.shape(), gen)));
    std::vector<Var> ws;
    for (const Var& x : inputs) ws.push_back(Var(randn<double>(x.shape(), gen)));
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
