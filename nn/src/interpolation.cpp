// The coefficients of natural_cubic_spline and hermite_cubic_spline: input checks, each series'
// observed points gathered into a padded (S, N) layout (S = batch · channels series), the
// per-series cubics on their own observed intervals, and their re-expansion onto the shared
// grid of times. Everything that touches data is a differentiable op (index_select, index_add,
// slice, concat, elementwise arithmetic with constant tensors, tridiagonal_solve); everything
// that depends on times only is a plain float64 tensor, converted to the data's dtype once.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/interpolation.hpp"
#include "odenet/nn/tridiagonal.hpp"

namespace odenet::nn {

namespace {

std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return buf;
}

std::vector<double> as_doubles(const Var& x) {
    if (x.dtype() == Dtype::float32) {
        const auto& v = x.value<float>();
        return std::vector<double>(v.begin(), v.end());
    }
    const auto& v = x.value<double>();
    return std::vector<double>(v.begin(), v.end());
}

// Where each series' observations are. Series s = b·C + c is channel c of series b; obs[s] lists
// the grid indices j with data[b, j, c] not NaN, increasing. N = the most observations of any
// series, at least 2 so that the interval tables (N - 1 wide) are never empty.
struct Layout {
    std::size_t batch = 0, n_times = 0, channels = 0, n_series = 0, width = 2;
    std::vector<double> times;
    std::vector<std::vector<std::size_t>> obs;
    Dtype dtype = Dtype::float64;
};

std::vector<double> check_times(const char* where, const Var& times) {
    if (!times.defined() || times.dim() != 1 || times.shape()[0] < 2) {
        throw ShapeError(where, "times must be 1-D with at least 2 entries, got " +
                                    (times.defined() ? shape_str(times.shape()) : std::string("an undefined Var")));
    }
    if (times.dtype() != Dtype::float64) throw DtypeError(where, "times must be float64 (time is float64 everywhere)");
    const std::vector<double> t = as_doubles(times);
    for (std::size_t j = 0; j < t.size(); ++j) {
        if (!std::isfinite(t[j])) throw ValueError(where, "times[" + std::to_string(j) + "] is " + num(t[j]));
        if (j > 0 && !(t[j] > t[j - 1])) {
            throw ValueError(where, "times must be strictly increasing, but times[" + std::to_string(j - 1) +
                                        "] = " + num(t[j - 1]) + " and times[" + std::to_string(j) + "] = " + num(t[j]));
        }
    }
    return t;
}

std::string entry(const char* name, std::size_t b, std::size_t j, std::size_t c) {
    return std::string(name) + "[" + std::to_string(b) + ", " + std::to_string(j) + ", " + std::to_string(c) + "]";
}

Layout make_layout(const char* where, const Var& times, const Var& data) {
    Layout l;
    l.times = check_times(where, times);
    l.n_times = l.times.size();
    if (!data.defined() || data.dim() != 3 || data.shape()[1] != l.n_times) {
        throw ShapeError(where, "data must be (batch, T = " + std::to_string(l.n_times) + " times, channels), got " +
                                    (data.defined() ? shape_str(data.shape()) : std::string("an undefined Var")));
    }
    l.batch = data.shape()[0];
    l.channels = data.shape()[2];
    // An empty batch has no path to speak of; refuse it as irregular_times does, rather than
    // hand a solver a (0, C) or (B, 0) state.
    if (l.batch == 0 || l.channels == 0)
        throw ShapeError(where, "data " + shape_str(data.shape()) + " has no series (batch or channels is 0)");
    l.n_series = l.batch * l.channels;
    l.dtype = data.dtype();
    l.obs.resize(l.n_series);
    const std::vector<double> v = as_doubles(data);
    for (std::size_t b = 0; b < l.batch; ++b) {
        for (std::size_t c = 0; c < l.channels; ++c) {
            auto& obs = l.obs[b * l.channels + c];
            for (std::size_t j = 0; j < l.n_times; ++j) {
                const double x = v[(b * l.n_times + j) * l.channels + c];
                if (std::isinf(x)) throw ValueError(where, entry("data", b, j, c) + " is " + num(x));
                if (!std::isnan(x)) obs.push_back(j);
            }
            if (obs.empty()) {
                throw ValueError(where, "channel " + std::to_string(c) + " of series " + std::to_string(b) +
                                            " has no observation (data[" + std::to_string(b) + ", :, " +
                                            std::to_string(c) + "] is all NaN); fill it before interpolating");
            }
            l.width = std::max(l.width, obs.size());
        }
    }
    return l;
}

// Each series' observed values of x (data or slopes), left-aligned and zero-padded: (S, N).
// Missing entries are never read, so a NaN there reaches neither the value nor the gradient.
Var observed(const Layout& l, const Var& x) {
    std::vector<std::size_t> from, to;
    for (std::size_t s = 0; s < l.n_series; ++s) {
        const std::size_t b = s / l.channels, c = s % l.channels;
        for (std::size_t i = 0; i < l.obs[s].size(); ++i) {
            from.push_back((b * l.n_times + l.obs[s][i]) * l.channels + c);
            to.push_back(s * l.width + i);
        }
    }
    const Var picked = index_select(reshape(x, {x.numel()}), 0, from);
    return reshape(index_add(picked, 0, to, l.n_series * l.width), {l.n_series, l.width});
}

// h(s, k) = τ_{k+1} - τ_k between series s's observations k and k+1, 0 beyond its last one.
Tensor<double> steps(const Layout& l) {
    Tensor<double> h = xt::zeros<double>({l.n_series, l.width - 1});
    for (std::size_t s = 0; s < l.n_series; ++s)
        for (std::size_t k = 0; k + 1 < l.obs[s].size(); ++k) h(s, k) = l.times[l.obs[s][k + 1]] - l.times[l.obs[s][k]];
    return h;
}

Tensor<double> inverse_or_zero(const Tensor<double>& h) {
    Tensor<double> r = h;
    for (double& x : r) x = x > 0 ? 1.0 / x : 0.0;
    return r;
}

Var constant(Tensor<double> x, Dtype dtype) { return to_dtype(Var(std::move(x)), dtype); }

Var left(const Var& x) { return slice(x, 1, 0, x.shape()[1] - 1); }
Var right(const Var& x) { return slice(x, 1, 1, x.shape()[1]); }

struct Intervals {
    Var b, c, d;  // (S, N-1): y_k + b τ + c τ² + d τ³ on series s's k-th observed interval
};

// The natural spline's second derivatives M_1 .. M_{n-2} at the interior knots solve
//   h_{k-1} M_{k-1} + 2 (h_{k-1} + h_k) M_k + h_k M_{k+1} = 6 (Δ_k - Δ_{k-1}),  M_0 = M_{n-1} = 0,
// with Δ_k = (y_{k+1} - y_k) / h_k (Burden and Faires, section 3.5). Row i holds M_{i+1}.
// Rows past a series' own n - 2 are the identity with a zero right-hand side, so they solve to 0
// and M_{n-1} = 0 falls out of the padding.
std::shared_ptr<const TridiagonalSystem> natural_system(const Layout& l, const Tensor<double>& h) {
    const std::size_t n = l.width - 2;
    TridiagonalSystem sys{xt::zeros<double>({l.n_series, n}), xt::ones<double>({l.n_series, n}),
                          xt::zeros<double>({l.n_series, n})};
    for (std::size_t s = 0; s < l.n_series; ++s) {
        const std::size_t rows = l.obs[s].size() >= 2 ? l.obs[s].size() - 2 : 0;
        for (std::size_t i = 0; i < rows; ++i) {
            sys.lower(s, i) = i > 0 ? h(s, i) : 0.0;
            sys.diag(s, i) = 2 * (h(s, i) + h(s, i + 1));
            sys.upper(s, i) = i + 1 < rows ? h(s, i + 1) : 0.0;
        }
    }
    return std::make_shared<const TridiagonalSystem>(std::move(sys));
}

Intervals natural_intervals(const Layout& l, const Var& y) {
    const Tensor<double> h = steps(l), inv_h = inverse_or_zero(h);
    const Var slope = (right(y) - left(y)) * constant(inv_h, l.dtype);  // Δ_k, 0 on padding
    Var m = zeros({l.n_series, l.width}, l.dtype);
    if (l.width > 2) {
        Tensor<double> live = xt::zeros<double>({l.n_series, l.width - 2});
        for (std::size_t s = 0; s < l.n_series; ++s)
            for (std::size_t i = 0; i + 2 < l.obs[s].size(); ++i) live(s, i) = 1.0;
        const Var rhs = (right(slope) - left(slope)) * constant(live * 6.0, l.dtype);
        const Var zero = zeros({l.n_series, 1}, l.dtype);
        m = concat({zero, tridiagonal_solve(natural_system(l, h), rhs), zero}, 1);
    }
    // On [τ_k, τ_{k+1}]: b = Δ_k - h_k (2 M_k + M_{k+1}) / 6, c = M_k / 2, d = (M_{k+1} - M_k) / (6 h_k).
    const Var mk = left(m), mk1 = right(m);
    return {slope - mk * constant(h / 3.0, l.dtype) - mk1 * constant(h / 6.0, l.dtype), mk * 0.5,
            (mk1 - mk) * constant(inv_h / 6.0, l.dtype)};
}

// The cubic with values y_k, y_{k+1} and slopes m_k, m_{k+1} at the ends of [τ_k, τ_{k+1}]:
// b = m_k, c = (3Δ_k - 2 m_k - m_{k+1}) / h_k, d = (m_k + m_{k+1} - 2Δ_k) / h_k² (Burden and
// Faires, section 3.4, the Hermite form on two points). Without given slopes, m_k = Δ_{k-1} (the
// backward difference) and m_0 = Δ_0: Morrill et al. (2021), section 3.
Intervals hermite_intervals(const Layout& l, const Var& y, const Var& given_slopes) {
    const Tensor<double> h = steps(l), inv_h = inverse_or_zero(h);
    const Var slope = (right(y) - left(y)) * constant(inv_h, l.dtype);
    const Var m = given_slopes.defined() ? given_slopes : concat({slice(slope, 1, 0, 1), slope}, 1);
    const Var mk = left(m), mk1 = right(m);
    return {mk, (slope * 3.0 - mk * 2.0 - mk1) * constant(inv_h, l.dtype),
            (mk + mk1 - slope * 2.0) * constant(inv_h * inv_h, l.dtype)};
}

// The grid times at which some series is observed: where a derivative of some path may jump
// (X' too at a channel's first and last observation, where the constant extension meets the cubic).
std::vector<double> observed_times(const Layout& l) {
    std::vector<double> knots;
    for (std::size_t j = 0; j < l.n_times; ++j) {
        const bool seen = std::any_of(l.obs.begin(), l.obs.end(), [j](const auto& obs) {
            return std::binary_search(obs.begin(), obs.end(), j);
        });
        if (seen) knots.push_back(l.times[j]);
    }
    return knots;
}

// Re-expands each series' cubic about every grid time t_j, so that X on [t_j, t_{j+1}] is one
// cubic in τ = t - t_j for the whole batch. If grid interval j lies in the series' observed
// interval k (τ_k <= t_j < τ_{k+1}), with δ = t_j - τ_k the Taylor shift gives
//   a' = y_k + b δ + c δ² + d δ³,  b' = b + 2c δ + 3d δ²,  c' = c + 3d δ,  d' = d;
// before the first observation (after the last) the path is y_0 (y_{n-1}): a' = y, b' = c' = d' = 0,
// written as the same formulas with δ = 0 and the b, c, d terms weighted by live = 0.
CubicPath on_grid(SplineKind kind, const Layout& l, const Var& y, const Intervals& p) {
    const std::size_t n = l.n_times - 1, rows = n * l.n_series;
    std::vector<std::size_t> at_y(rows), at_k(rows);
    Tensor<double> live = xt::zeros<double>({rows}), delta = xt::zeros<double>({rows});
    for (std::size_t s = 0; s < l.n_series; ++s) {
        const auto& obs = l.obs[s];
        for (std::size_t j = 0; j < n; ++j) {
            const std::size_t r = j * l.n_series + s;  // row of (j, b, c) in (T-1, batch, channels)
            // k: the last observation at or before t_j; none before the first.
            const auto after = std::upper_bound(obs.begin(), obs.end(), j);
            const std::size_t k = after == obs.begin() ? 0 : static_cast<std::size_t>(after - obs.begin()) - 1;
            at_y[r] = s * l.width + k;
            at_k[r] = s * (l.width - 1) + std::min(k, l.width - 2);
            if (after != obs.begin() && after != obs.end()) {
                live(r) = 1.0;
                delta(r) = l.times[j] - l.times[obs[k]];
            }
        }
    }
    const Shape grid{n, l.batch, l.channels};
    auto pick = [&](const Var& x, const std::vector<std::size_t>& at) {
        return reshape(index_select(reshape(x, {x.numel()}), 0, at), grid);
    };
    auto weight = [&](Tensor<double> w) {
        w.reshape(grid);
        return constant(std::move(w), l.dtype);
    };
    const Var y0 = pick(y, at_y), b = pick(p.b, at_k), c = pick(p.c, at_k), d = pick(p.d, at_k);
    const Tensor<double> d2 = delta * delta, d3 = d2 * delta;
    Var a1 = y0 + b * weight(delta) + c * weight(d2) + d * weight(d3);
    Var b1 = b * weight(live) + c * weight(2.0 * delta) + d * weight(3.0 * d2);
    Var c1 = c * weight(live) + d * weight(3.0 * delta);
    Var d1 = d * weight(live);
    return CubicPath(kind, l.times, std::move(a1), std::move(b1), std::move(c1), std::move(d1), observed_times(l));
}

void check_slopes(const char* where, const Layout& l, const Var& data, const Var& slopes) {
    if (!slopes.defined() || slopes.shape() != data.shape()) {
        throw ShapeError(where, "slopes must have data's shape " + shape_str(data.shape()) + ", got " +
                                    (slopes.defined() ? shape_str(slopes.shape()) : std::string("an undefined Var")));
    }
    if (slopes.dtype() != data.dtype()) throw DtypeError(where, "slopes and data must have the same dtype");
    const std::vector<double> v = as_doubles(slopes);
    for (std::size_t s = 0; s < l.n_series; ++s) {
        const std::size_t b = s / l.channels, c = s % l.channels;
        for (std::size_t j : l.obs[s]) {
            const double x = v[(b * l.n_times + j) * l.channels + c];
            if (!std::isfinite(x)) throw ValueError(where, entry("slopes", b, j, c) + " is " + num(x) + " at an observation");
        }
    }
}

}  // namespace

CubicPath natural_cubic_spline(const Var& times, const Var& data) {
    const Layout l = make_layout("natural_cubic_spline", times, data);
    const Var y = observed(l, data);
    return on_grid(SplineKind::natural, l, y, natural_intervals(l, y));
}

CubicPath hermite_cubic_spline(const Var& times, const Var& data) {
    const Layout l = make_layout("hermite_cubic_spline", times, data);
    const Var y = observed(l, data);
    return on_grid(SplineKind::hermite, l, y, hermite_intervals(l, y, Var()));
}

CubicPath hermite_cubic_spline(const Var& times, const Var& data, const Var& slopes) {
    const char* where = "hermite_cubic_spline";
    const Layout l = make_layout(where, times, data);
    check_slopes(where, l, data, slopes);
    const Var y = observed(l, data);
    return on_grid(SplineKind::hermite, l, y, hermite_intervals(l, y, observed(l, slopes)));
}

}  // namespace odenet::nn
