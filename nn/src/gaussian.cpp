#include "odenet/nn/gaussian.hpp"

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/shape.hpp"

namespace odenet::nn {

namespace {

const double kLog2Pi = std::log(2.0 * std::numbers::pi);

void check_dtype(const Var& a, const Var& b, const char* where, const char* a_name, const char* b_name) {
    if (a.dtype() != b.dtype()) {
        throw DtypeError(where, std::string(a_name) + " is " + dtype_name(a.dtype()) + " but " + b_name + " is " +
                                    dtype_name(b.dtype()));
    }
}

void check_defined(const Var& v, const char* where, const char* name) {
    if (!v.defined()) throw ValueError(where, std::string(name) + " is undefined");
}

// `from` must broadcast to x's shape without changing it.
void check_broadcasts_to(const Var& from, const Var& x, const char* where, const char* name) {
    if (!broadcastable_to(from.shape(), x.shape())) {
        throw ShapeError(where, std::string(name) + " of shape " + shape_str(from.shape()) +
                                    " does not broadcast to x's shape " + shape_str(x.shape()));
    }
}

// The mask in x's dtype, after checking that it broadcasts to x and holds only 0 and 1.
Var checked_mask(const Var& mask, const Var& x, const char* where) {
    check_broadcasts_to(mask, x, where, "mask");
    auto check = [&](const auto& m) {
        for (std::size_t k = 0; k < m.size(); ++k) {
            const double v = static_cast<double>(m.data()[k]);
            if (v != 0.0 && v != 1.0) {
                throw ValueError(where, "mask entries must be 0 or 1, got " + std::to_string(v) +
                                            " at flat index " + std::to_string(k));
            }
        }
    };
    if (mask.dtype() == Dtype::float32) {
        check(mask.value<float>());
    } else {
        check(mask.value<double>());
    }
    return to_dtype(mask.detach(), x.dtype());
}

// Σ over every axis but the first (a 1-D lp is already per sample).
Var sum_per_sample(const Var& lp) {
    if (lp.dim() <= 1) return lp;
    std::vector<int> axes;
    for (std::size_t a = 1; a < lp.dim(); ++a) axes.push_back(static_cast<int>(a));
    return sum(lp, axes);
}

// log N(x; mean, σ²) summed per sample, with σ given by `log_sigma` (a Var) or `sigma` (fixed).
Var log_likelihood(const Var& x, const Var& mean, const Var* log_sigma, double sigma, const Var& mask) {
    constexpr const char* kWhere = "gaussian_log_likelihood";
    check_defined(x, kWhere, "x");
    check_defined(mean, kWhere, "mean");
    if (x.dim() == 0) throw ShapeError(kWhere, "x needs a batch axis, got shape ()");
    check_broadcasts_to(mean, x, kWhere, "mean");
    check_dtype(x, mean, kWhere, "x", "mean");
    if (log_sigma) {
        check_broadcasts_to(*log_sigma, x, kWhere, "log_noise_std");
        check_dtype(x, *log_sigma, kWhere, "x", "log_noise_std");
    }
    Var diff = x - mean;
    Var m;
    if (mask.defined()) {
        // Padding is set to 0 on both sides before the difference, so a NaN there cannot reach
        // a gradient through 0·NaN; where() then drops those entries from the sum exactly.
        m = checked_mask(mask, x, kWhere);
        const Var zero = zeros({1}, x.dtype());
        diff = where(m, x, zero) - where(m, mean, zero);
    }
    // −½ (x − μ)² / σ² − log σ − ½ log 2π
    const Var lp = log_sigma ? -0.5 * square(diff) * exp(-2.0 * *log_sigma) - *log_sigma - 0.5 * kLog2Pi
                             : -0.5 / (sigma * sigma) * square(diff) - (std::log(sigma) + 0.5 * kLog2Pi);
    return sum_per_sample(m.defined() ? where(m, lp, zeros({1}, x.dtype())) : lp);
}

}  // namespace

Normal::Normal(Var mean, Var log_var) : mean_(std::move(mean)), log_var_(std::move(log_var)) {
    check_defined(mean_, "Normal", "mean");
    check_defined(log_var_, "Normal", "log_var");
    if (mean_.shape() != log_var_.shape()) {
        throw ShapeError("Normal", "mean " + shape_str(mean_.shape()) + " and log_var " +
                                       shape_str(log_var_.shape()) + " must have one shape");
    }
    check_dtype(mean_, log_var_, "Normal", "mean", "log_var");
}

Normal Normal::standard(const Shape& shape, Dtype dtype) { return Normal(zeros(shape, dtype), zeros(shape, dtype)); }

Var Normal::stddev() const { return exp(0.5 * log_var_); }

Var Normal::log_prob(const Var& x) const {
    check_defined(x, "Normal::log_prob", "x");
    broadcast_shape(x.shape(), shape(), "Normal::log_prob");
    check_dtype(x, mean_, "Normal::log_prob", "x", "the Normal");
    return -0.5 * (square(x - mean_) * exp(-log_var_) + log_var_ + kLog2Pi);
}

Var Normal::rsample(Generator& gen) const {
    return rsample_with(dtype() == Dtype::float32 ? Var(randn<float>(shape(), gen)) : Var(randn<double>(shape(), gen)));
}

Var Normal::rsample(std::size_t n, Generator& gen) const {
    Shape s{n};
    s.insert(s.end(), shape().begin(), shape().end());
    return rsample_with(dtype() == Dtype::float32 ? Var(randn<float>(s, gen)) : Var(randn<double>(s, gen)));
}

Var Normal::rsample_with(const Var& eps) const {
    check_defined(eps, "Normal::rsample", "eps");
    broadcast_shape(eps.shape(), shape(), "Normal::rsample");
    check_dtype(eps, mean_, "Normal::rsample", "eps", "the Normal");
    return mean_ + stddev() * eps;
}

Var kl_divergence(const Normal& q, const Normal& p) {
    broadcast_shape(q.shape(), p.shape(), "kl_divergence");
    check_dtype(q.mean(), p.mean(), "kl_divergence", "q", "p");
    const Var d = q.mean() - p.mean();
    return 0.5 * (exp(q.log_var() - p.log_var()) + square(d) * exp(-p.log_var()) - 1.0 + p.log_var() - q.log_var());
}

Var gaussian_log_likelihood(const Var& x, const Var& mean, double noise_std, const Var& mask) {
    if (!(noise_std > 0) || !std::isfinite(noise_std)) {
        throw ValueError("gaussian_log_likelihood", "noise_std must be positive and finite, got " +
                                                        std::to_string(noise_std));
    }
    return log_likelihood(x, mean, nullptr, noise_std, mask);
}

Var gaussian_log_likelihood(const Var& x, const Var& mean, const Var& log_noise_std, const Var& mask) {
    check_defined(log_noise_std, "gaussian_log_likelihood", "log_noise_std");
    return log_likelihood(x, mean, &log_noise_std, 0.0, mask);
}

}  // namespace odenet::nn
