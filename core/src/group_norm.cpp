// Group normalisation's fused kernels (core/group_norm.hpp).
//
// Note [Fused group norm]
// The forward is one fused kernel (statistics, normalise, scale and shift: two reads and one
// write of x), and so is the first-order backward. Composed from reshape/mean/square/sqrt/div/
// mul/add ops, the ODE-Net's three group norms per dynamics evaluation cost ~10 allocating passes
// forward and ~20 backward over the (128, 64, 6, 6) activations, as much as the two 3x3
// convolutions of the same evaluation (profile in README, "MNIST ODE-Net"). The backward formula
//   x̂ = (x - μ) r,  r = 1/√(σ² + eps),  ĝ = g·w
//   dx = r (ĝ - mean_G(ĝ) - x̂ mean_G(ĝ x̂)),  dw = Σ_{N,spatial} g x̂,  db = Σ_{N,spatial} g
// is also written in differentiable ops in autodiff/src/ops/norm.cpp, which says when each runs.
#include "odenet/core/group_norm.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "odenet/core/error.hpp"

namespace odenet {

GroupNormLayout group_norm_layout(const Shape& x, std::size_t groups) {
    if (x.size() < 2) throw ShapeError("group_norm", "needs an (N, C, ...) input, got " + shape_str(x));
    const std::size_t n = x[0], c = x[1];
    if (groups == 0 || c % groups != 0) {
        throw ShapeError("group_norm", "input " + shape_str(x) + " has " + std::to_string(c) +
                                           " channels, not divisible into " + std::to_string(groups) + " groups");
    }
    std::size_t spatial = n * c == 0 ? 0 : 1;
    for (std::size_t a = 2; a < x.size() && spatial != 0; ++a) spatial *= x[a];
    return {n, c, groups, spatial};
}

namespace {

// Sum of p[0..m) with 16 independent float lanes (vectorised without reassociation flags),
// the lanes then added in double.
template <class T>
double lane_sum(const T* p, std::size_t m) {
    constexpr std::size_t L = 16;
    T acc[L] = {};
    std::size_t k = 0;
    for (; k + L <= m; k += L)
        for (std::size_t j = 0; j < L; ++j) acc[j] += p[k + j];
    double s = 0;
    for (std::size_t j = 0; j < L; ++j) s += double(acc[j]);
    for (; k < m; ++k) s += double(p[k]);
    return s;
}

// Σ (p - mu)² in the same lane style.
template <class T>
double lane_centred_square(const T* p, std::size_t m, T mu) {
    constexpr std::size_t L = 16;
    T acc[L] = {};
    std::size_t k = 0;
    for (; k + L <= m; k += L)
        for (std::size_t j = 0; j < L; ++j) {
            const T d = p[k + j] - mu;
            acc[j] += d * d;
        }
    double s = 0;
    for (std::size_t j = 0; j < L; ++j) s += double(acc[j]);
    for (; k < m; ++k) s += double(p[k] - mu) * double(p[k] - mu);
    return s;
}

// Mean and 1/√(biased variance + eps) of group i (two passes, for accuracy).
template <class T>
void group_stats(const T* x, std::size_t m, double eps, T& mu, T& rstd) {
    const double mean = m ? lane_sum(x, m) / double(m) : 0.0;
    const double var = m ? lane_centred_square(x, m, T(mean)) / double(m) : 0.0;
    mu = T(mean);
    rstd = T(1.0 / std::sqrt(var + eps));
}

// The kernels index raw buffers by the layout, so a tensor of another shape would be read out
// of bounds; the autodiff op never passes one, direct callers might.
void check_size(const Shape& s, const GroupNormLayout& L, const char* what, const char* op) {
    const bool fits = s.size() >= 2 && s[0] == L.n && s[1] == L.c && numel(s) == L.n * L.c * L.spatial;
    if (!fits) {
        throw ShapeError(op, std::string(what) + " has shape " + shape_str(s) + " but the layout needs (" +
                                 std::to_string(L.n) + ", " + std::to_string(L.c) + ", ...) with " +
                                 std::to_string(L.spatial) + " values per channel");
    }
}

// Per channel of group i: Σ g and Σ g x̂ (added into dw, db); returns the group's Σ ĝ, Σ ĝ x̂.
template <class T>
std::pair<double, double> channel_sums(const T* xi, const T* gi, const GroupNormLayout& L, std::size_t c0, T mu,
                                       T rstd, const T* w, std::vector<double>& dw, std::vector<double>& db) {
    double sum_gh = 0, sum_ghx = 0;
    for (std::size_t cc = 0; cc < L.channels_per_group(); ++cc) {
        const T* xs = xi + cc * L.spatial;
        const T* gs = gi + cc * L.spatial;
        double sg = 0, sgx = 0;
        for (std::size_t k = 0; k < L.spatial; ++k) {
            sg += double(gs[k]);
            sgx += double(gs[k]) * double((xs[k] - mu) * rstd);
        }
        dw[c0 + cc] += sgx;
        db[c0 + cc] += sg;
        const double wc = w ? double(w[c0 + cc]) : 1.0;
        sum_gh += wc * sg;
        sum_ghx += wc * sgx;
    }
    return {sum_gh, sum_ghx};
}

// dx of group i = r (ĝ - mean_G(ĝ) - x̂ mean_G(ĝ x̂)), the two means given.
template <class T>
void group_input_grad(const T* xi, const T* gi, const GroupNormLayout& L, std::size_t c0, T mu, T rstd, const T* w,
                      T mean_gh, T mean_ghx, T* dxi) {
    for (std::size_t cc = 0; cc < L.channels_per_group(); ++cc) {
        const T wc = w ? w[c0 + cc] : T(1);
        const T* xs = xi + cc * L.spatial;
        const T* gs = gi + cc * L.spatial;
        T* ds = dxi + cc * L.spatial;
        for (std::size_t k = 0; k < L.spatial; ++k) {
            const T xhat = (xs[k] - mu) * rstd;
            ds[k] = rstd * (gs[k] * wc - mean_gh - xhat * mean_ghx);
        }
    }
}

template <class T>
Tensor<T> per_channel_tensor(const std::vector<double>& v) {
    Tensor<T> t = Tensor<T>::from_shape({v.size()});
    for (std::size_t k = 0; k < v.size(); ++k) t(k) = T(v[k]);
    return t;
}

}  // namespace

template <class T>
Tensor<T> group_norm_forward(const GroupNormLayout& L, const Tensor<T>& x, const T* w, const T* b, double eps) {
    check_size(x.shape(), L, "input", "group_norm_forward");
    Tensor<T> y = Tensor<T>::from_shape(x.shape());
    const std::size_t m = L.per_group(), cpg = L.channels_per_group(), S = L.spatial;
    for (std::size_t i = 0; i < L.n * L.groups; ++i) {
        const T* xi = x.data() + i * m;
        T* yi = y.data() + i * m;
        T mu, rstd;
        group_stats(xi, m, eps, mu, rstd);
        const std::size_t c0 = (i % L.groups) * cpg;
        for (std::size_t cc = 0; cc < cpg; ++cc) {
            const T scale = rstd * (w ? w[c0 + cc] : T(1));
            const T shift = (b ? b[c0 + cc] : T(0)) - mu * scale;
            const T* xs = xi + cc * S;
            T* ys = yi + cc * S;
            for (std::size_t k = 0; k < S; ++k) ys[k] = xs[k] * scale + shift;
        }
    }
    return y;
}

template <class T>
GroupNormGrads<T> group_norm_backward(const GroupNormLayout& L, const Tensor<T>& x, const Tensor<T>& g, const T* w,
                                      double eps, GroupNormNeeds needs) {
    check_size(x.shape(), L, "input", "group_norm_backward");
    check_size(g.shape(), L, "g", "group_norm_backward");
    const std::size_t m = L.per_group();
    Tensor<T> dx = needs.dx ? Tensor<T>::from_shape(x.shape()) : Tensor<T>();
    std::vector<double> dw(L.c, 0.0), db(L.c, 0.0);
    for (std::size_t i = 0; i < L.n * L.groups; ++i) {
        const T* xi = x.data() + i * m;
        const T* gi = g.data() + i * m;
        T mu, rstd;
        group_stats(xi, m, eps, mu, rstd);
        const std::size_t c0 = (i % L.groups) * L.channels_per_group();
        const auto [sum_gh, sum_ghx] = channel_sums(xi, gi, L, c0, mu, rstd, w, dw, db);
        if (needs.dx) {
            group_input_grad(xi, gi, L, c0, mu, rstd, w, T(sum_gh / double(m)), T(sum_ghx / double(m)), dx.data() + i * m);
        }
    }
    GroupNormGrads<T> r;
    if (needs.dx) r.dx = std::move(dx);
    if (needs.dweight) r.dweight = per_channel_tensor<T>(dw);
    if (needs.dbias) r.dbias = per_channel_tensor<T>(db);
    return r;
}

template Tensor<float> group_norm_forward(const GroupNormLayout&, const Tensor<float>&, const float*, const float*,
                                          double);
template Tensor<double> group_norm_forward(const GroupNormLayout&, const Tensor<double>&, const double*,
                                           const double*, double);
template GroupNormGrads<float> group_norm_backward(const GroupNormLayout&, const Tensor<float>&, const Tensor<float>&,
                                                   const float*, double, GroupNormNeeds);
template GroupNormGrads<double> group_norm_backward(const GroupNormLayout&, const Tensor<double>&,
                                                    const Tensor<double>&, const double*, double, GroupNormNeeds);

}  // namespace odenet
