#include "odenet/nn/init.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "householder_qr.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::nn::init {

namespace {
struct Fans {
    double in, out;
};

// `where` is the user's call, so that the error names it rather than a helper.
Fans fans(const Shape& s, const char* where) {
    if (s.size() < 2) throw ValueError(where, "needs a tensor of rank >= 2, got shape " + shape_str(s));
    std::size_t receptive = 1;
    for (std::size_t i = 2; i < s.size(); ++i) receptive *= s[i];
    return {static_cast<double>(s[1] * receptive), static_cast<double>(s[0] * receptive)};
}

// Writes f(k) to v's k-th element (row-major), in v's dtype.
template <class F>
void fill_with(Var& v, F&& f) {
    auto write = [&](auto& t) {
        using T = typename std::decay_t<decltype(t)>::value_type;
        std::size_t k = 0;
        for (T& x : t) x = static_cast<T>(f(k++));
    };
    if (v.dtype() == Dtype::float32) {
        write(v.mutable_value<float>());
    } else {
        write(v.mutable_value<double>());
    }
}
}  // namespace

std::size_t fan_in(const Shape& s) { return static_cast<std::size_t>(fans(s, "init::fan_in").in); }
std::size_t fan_out(const Shape& s) { return static_cast<std::size_t>(fans(s, "init::fan_out").out); }

void uniform_(Var& v, double lo, double hi) {
    if (v.dtype() == Dtype::float32) {
        v.mutable_value<float>() = uniform<float>(v.shape(), lo, hi);
    } else {
        v.mutable_value<double>() = uniform<double>(v.shape(), lo, hi);
    }
}

void normal_(Var& v, double mean, double std) {
    if (!(std >= 0.0) || !std::isfinite(std)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", std);
        throw ValueError("init::normal_", std::string("std must be finite and >= 0, got ") + buf);
    }
    // mean + std x in double, then rounded once to v's dtype.
    Generator& gen = default_generator();
    fill_with(v, [&](std::size_t) { return mean + std * gen.normal(); });
}

void constant_(Var& v, double value) {
    if (v.dtype() == Dtype::float32) {
        v.mutable_value<float>().fill(static_cast<float>(value));
    } else {
        v.mutable_value<double>().fill(value);
    }
}

void xavier_uniform_(Var& v, double gain) {
    const Fans f = fans(v.shape(), "init::xavier_uniform_");
    const double bound = gain * std::sqrt(6.0 / (f.in + f.out));
    uniform_(v, -bound, bound);
}

void xavier_normal_(Var& v, double gain) {
    const Fans f = fans(v.shape(), "init::xavier_normal_");
    normal_(v, 0.0, gain * std::sqrt(2.0 / (f.in + f.out)));
}

void kaiming_uniform_(Var& v, double a) {
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double bound = gain * std::sqrt(3.0 / fans(v.shape(), "init::kaiming_uniform_").in);
    uniform_(v, -bound, bound);
}

void kaiming_normal_(Var& v, double a) {
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    normal_(v, 0.0, gain / std::sqrt(fans(v.shape(), "init::kaiming_normal_").in));
}

void orthogonal_(Var& v, double gain) {
    const Shape& s = v.shape();
    if (s.size() < 2) throw ValueError("init::orthogonal_", "needs a tensor of rank >= 2, got shape " + shape_str(s));
    const std::size_t rows = s[0], numel = v.numel();
    if (numel == 0) return;
    const std::size_t cols = numel / rows;
    const Tensor<double> draw = randn<double>({rows, cols});
    // QR of the tall orientation: the draw itself (m, n) = (rows, cols), or its transpose.
    const bool wide = rows < cols;
    const std::size_t m = wide ? cols : rows, n = wide ? rows : cols;
    std::vector<double> a(m * n);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) a[wide ? j * n + i : i * n + j] = draw(i, j);
    const detail::ThinQR qr = detail::householder_qr(std::move(a), m, n);
    // sign(0) = 0 in PyTorch would zero a column; R_jj = 0 needs a rank-deficient normal draw
    // (probability zero), and +1 keeps Q orthonormal there.
    std::vector<double> sign(n);
    for (std::size_t j = 0; j < n; ++j) sign[j] = qr.r_diag[j] < 0.0 ? -gain : gain;
    fill_with(v, [&](std::size_t k) {
        const std::size_t i = k / cols, j = k % cols;  // entry (i, j) of the rows x cols result
        return wide ? qr.q[j * n + i] * sign[i] : qr.q[i * n + j] * sign[j];
    });
}

void default_linear_init(Var& weight, Var* bias) {
    kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias && bias->defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight.shape())));
        uniform_(*bias, -bound, bound);
    }
}

}  // namespace odenet::nn::init
