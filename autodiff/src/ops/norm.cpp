// Group normalisation (Wu & He, 2018, "Group Normalization", ECCV, eq. 1-3).
//
// Note [Fused group norm]
// The forward is one fused kernel (statistics, normalise, scale and shift: two reads and one
// write of x), and so is the first-order backward. Composed from reshape/mean/square/sqrt/div/
// mul/add ops, the ODE-Net's three group norms per dynamics evaluation cost ~10 allocating passes
// forward and ~20 backward over the (128, 64, 6, 6) activations, as much as the two 3x3
// convolutions of the same evaluation (profile in README, "MNIST ODE-Net"). The backward formula
//   x̂ = (x - μ) r,  r = 1/√(σ² + eps),  ĝ = g·w
//   dx = r (ĝ - mean_G(ĝ) - x̂ mean_G(ĝ x̂)),  dw = Σ_{N,spatial} g x̂,  db = Σ_{N,spatial} g
// is also written in differentiable ops (composite_backward): when the backward itself is being
// recorded (create_graph, grad mode on), that version runs, so every higher derivative still
// comes from the ops' own formulas; otherwise the fused kernel gives the same numbers.
#include <algorithm>
#include <cmath>

#include "dispatch.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {

void check_affine(const Var& p, const Var& x, const char* what) {
    if (!p.defined()) return;
    ops::check_same_dtype(x, p, "group_norm");
    if (p.shape() != Shape{x.shape()[1]}) {
        throw ShapeError("group_norm", std::string(what) + " has shape " + shape_str(p.shape()) + " but input " +
                                           shape_str(x.shape()) + " needs (" + std::to_string(x.shape()[1]) + ")");
    }
}

struct Layout {
    std::size_t n, c, groups, spatial;  // x is (n, c, spatial...), groups of c / groups channels
    std::size_t per_group() const { return c / groups * spatial; }
    std::size_t channels_per_group() const { return c / groups; }
};

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

// Σ (p - mu)² and Σ a·b in the same lane style.
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

template <class T>
Tensor<T> forward_kernel(const Tensor<T>& x, const Layout& L, const T* w, const T* b, double eps) {
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

struct BackwardTensors {
    Value dx, dw, db;
};

template <class T>
BackwardTensors backward_kernel(const Tensor<T>& x, const Tensor<T>& g, const Layout& L, const T* w, double eps,
                                bool need_dx, bool need_dw, bool need_db) {
    const std::size_t m = L.per_group(), cpg = L.channels_per_group(), S = L.spatial;
    Tensor<T> dx = need_dx ? Tensor<T>::from_shape(x.shape()) : Tensor<T>();
    std::vector<double> dw(L.c, 0.0), db(L.c, 0.0);
    for (std::size_t i = 0; i < L.n * L.groups; ++i) {
        const T* xi = x.data() + i * m;
        const T* gi = g.data() + i * m;
        T mu, rstd;
        group_stats(xi, m, eps, mu, rstd);
        const std::size_t c0 = (i % L.groups) * cpg;
        // Per channel: Σ g and Σ g x̂ (for dw, db), and the group's Σ ĝ, Σ ĝ x̂ (for dx).
        double sum_gh = 0, sum_ghx = 0;
        for (std::size_t cc = 0; cc < cpg; ++cc) {
            const T* xs = xi + cc * S;
            const T* gs = gi + cc * S;
            double sg = 0, sgx = 0;
            for (std::size_t k = 0; k < S; ++k) {
                sg += double(gs[k]);
                sgx += double(gs[k]) * double((xs[k] - mu) * rstd);
            }
            dw[c0 + cc] += sgx;
            db[c0 + cc] += sg;
            const double wc = w ? double(w[c0 + cc]) : 1.0;
            sum_gh += wc * sg;
            sum_ghx += wc * sgx;
        }
        if (!need_dx) continue;
        const T a = T(sum_gh / double(m)), bcoef = T(sum_ghx / double(m));
        T* dxi = dx.data() + i * m;
        for (std::size_t cc = 0; cc < cpg; ++cc) {
            const T wc = w ? w[c0 + cc] : T(1);
            const T* xs = xi + cc * S;
            const T* gs = gi + cc * S;
            T* ds = dxi + cc * S;
            for (std::size_t k = 0; k < S; ++k) {
                const T xhat = (xs[k] - mu) * rstd;
                ds[k] = rstd * (gs[k] * wc - a - xhat * bcoef);
            }
        }
    }
    BackwardTensors r;
    if (need_dx) r.dx = Value(std::move(dx));
    if (need_dw || need_db) {
        Tensor<T> tw = Tensor<T>::from_shape({L.c}), tb = Tensor<T>::from_shape({L.c});
        for (std::size_t k = 0; k < L.c; ++k) {
            tw(k) = T(dw[k]);
            tb(k) = T(db[k]);
        }
        if (need_dw) r.dw = Value(std::move(tw));
        if (need_db) r.db = Value(std::move(tb));
    }
    return r;
}

Shape per_channel_shape(const Var& x) {
    Shape s(x.dim(), 1);
    s[1] = x.shape()[1];
    return s;
}

// The backward of Note [Fused group norm] in differentiable ops (used under create_graph).
Grads composite_backward(const Var& x, const Var& weight, const Var& gy, const Layout& L, double eps, bool has_w,
                         bool has_b) {
    const Shape grouped{L.n, L.groups, L.per_group()};
    std::vector<int> reduce_axes{0};
    for (std::size_t a = 2; a < x.dim(); ++a) reduce_axes.push_back(int(a));
    Var xg = reshape(x, grouped);
    Var centred = xg - mean(xg, {2}, true);
    Var rstd = 1.0 / sqrt(mean(square(centred), {2}, true) + eps);
    Var xhat = centred * rstd;  // grouped
    Var gh = has_w ? gy * reshape(weight, per_channel_shape(x)) : gy;
    Var ghg = reshape(gh, grouped);
    Var dx = rstd * (ghg - mean(ghg, {2}, true) - xhat * mean(ghg * xhat, {2}, true));
    Grads r{reshape(dx, x.shape())};
    if (has_w) r.push_back(sum(gy * reshape(xhat, x.shape()), reduce_axes));
    if (has_b) r.push_back(sum(gy, reduce_axes));
    return r;
}

}  // namespace

// y = (x - μ_g) / sqrt(σ²_g + eps) · weight_c + bias_c, with μ_g and the biased variance σ²_g
// taken over the channels of group g and all spatial positions (as PyTorch).
Var group_norm(const Var& x, std::size_t groups, const Var& weight, const Var& bias, double eps) {
    if (x.dim() < 2) throw ShapeError("group_norm", "needs an (N, C, ...) input, got " + shape_str(x.shape()));
    const std::size_t n = x.shape()[0], c = x.shape()[1];
    if (groups == 0 || c % groups != 0) {
        throw ShapeError("group_norm", "input " + shape_str(x.shape()) + " has " + std::to_string(c) +
                                           " channels, not divisible into " + std::to_string(groups) + " groups");
    }
    check_affine(weight, x, "weight");
    check_affine(bias, x, "bias");
    const std::size_t spatial = n * c == 0 ? 0 : x.numel() / (n * c);
    const Layout L{n, c, groups, spatial};
    const bool has_w = weight.defined(), has_b = bias.defined();
    Value y = ops::map_value(x, [&](const auto& tx) {
        using T = typename std::decay_t<decltype(tx)>::value_type;
        return forward_kernel(tx, L, has_w ? weight.value<T>().data() : nullptr, has_b ? bias.value<T>().data() : nullptr,
                              eps);
    });
    auto backward = [sx = SavedVar(x, 0), sw = has_w ? SavedVar(weight, 1) : SavedVar(), L, eps, has_w, has_b](
                        const Var& gy, const BackwardContext& ctx) -> Grads {
        const Var& x = sx.unpack(ctx);
        const Var& weight = sw.unpack(ctx);
        if (GradMode::enabled()) return composite_backward(x, weight, gy, L, eps, has_w, has_b);
        const bool need_dw = has_w && ctx.needs(1), need_db = has_b && ctx.needs(has_w ? 2 : 1);
        BackwardTensors t = x.value().visit([&](const auto& tx) {
            using T = typename std::decay_t<decltype(tx)>::value_type;
            return backward_kernel(tx, gy.value<T>(), L, has_w ? weight.value<T>().data() : nullptr, eps, ctx.needs(0),
                                   need_dw, need_db);
        });
        Grads r{t.dx.defined() ? Var(std::move(t.dx)) : Var()};
        if (has_w) r.push_back(need_dw ? Var(std::move(t.dw)) : Var());
        if (has_b) r.push_back(need_db ? Var(std::move(t.db)) : Var());
        return r;
    };
    std::vector<Var> inputs{x};
    if (has_w) inputs.push_back(weight);
    if (has_b) inputs.push_back(bias);
    return record("group_norm", std::move(y), inputs, std::move(backward));
}

}  // namespace odenet
