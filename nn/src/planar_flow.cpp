// The planar normalizing flow: forward with log-determinants, and the inverse by scalar root
// finds. See planar_flow.hpp.
#include "odenet/nn/planar_flow.hpp"

#include <cmath>

#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/init.hpp"

namespace odenet::nn {

PlanarFlow::PlanarFlow(std::size_t dim, std::size_t layers, Dtype dtype, double init_scale)
    : u(zeros({layers, dim}, dtype)), w(zeros({layers, dim}, dtype)), b(zeros({layers}, dtype)), dim_(dim), layers_(layers) {
    if (dim == 0 || layers == 0)
        throw ValueError("PlanarFlow", "dim and layers must be > 0, got dim " + std::to_string(dim) + ", layers " +
                                           std::to_string(layers));
    if (!(init_scale > 0) || !std::isfinite(init_scale))
        throw ValueError("PlanarFlow", "init_scale must be finite and > 0, got " + std::to_string(init_scale));
    init::normal_(u, 0.0, init_scale);
    init::normal_(w, 0.0, init_scale);
    register_parameter("u", u);
    register_parameter("w", w);
    register_parameter("b", b);
}

Var PlanarFlow::u_hat() const {
    const Var wu = sum(w * u, {1}, /*keepdims=*/true);  // (K, 1)
    // |w|² floored far below any trained value: w = 0 (where the correction does not matter, the
    // layer being a translation) gives û = u instead of 0/0.
    const Var w_norm2 = add(sum(w * w, {1}, /*keepdims=*/true), 1e-30);
    const Var m = add(softplus(wu), -1.0);
    return u + (m - wu) / w_norm2 * w;
}

PlanarFlowResult PlanarFlow::forward(const Var& x) {
    if (x.dim() != 2 || x.shape()[1] != dim_)
        throw ShapeError("PlanarFlow", "expects points (N, " + std::to_string(dim_) + "), got " + shape_str(x.shape()));
    const Var uh = u_hat();
    const Var wu_hat = sum(w * uh, {1});  // (K): wᵀû >= −1
    Var z = x;
    Var log_det;
    for (std::size_t k = 0; k < layers_; ++k) {
        const Var w_k = slice(w, 0, k, k + 1);  // (1, d)
        const Var h = tanh(gemm(z, w_k, false, true) + slice(b, 0, k, k + 1));  // (N, 1)
        z = z + h * slice(uh, 0, k, k + 1);
        // 1 + ûᵀψ = 1 + (1 − h²) wᵀû >= 0; abs keeps the log defined at the boundary's rounding.
        const Var ld = log(abs(add(rsub(1.0, square(h)) * slice(wu_hat, 0, k, k + 1), 1.0)));  // (N, 1)
        log_det = k == 0 ? ld : log_det + ld;
    }
    return {z, reshape(log_det, {x.shape()[0]})};
}

namespace {

// The root s of s + c tanh(s) = r for c >= −1: g(s) = s + c tanh(s) − r is non-decreasing and
// g(r − |c|) <= 0 <= g(r + |c|), so bisection on that bracket converges; it stops when the
// midpoint no longer moves (at most ~1100 halvings, ~60 for brackets of ordinary size).
double planar_root(double c, double r) {
    double lo = r - std::abs(c), hi = r + std::abs(c);
    for (;;) {
        const double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) return mid;
        (mid + c * std::tanh(mid) - r < 0 ? lo : hi) = mid;
    }
}

template <class T>
Tensor<T> invert(Tensor<T> y, const Tensor<T>& u_hat, const Tensor<T>& w, const Tensor<T>& b) {
    const std::size_t n = y.shape()[0], d = y.shape()[1], layers = b.size();
    for (std::size_t k = layers; k-- > 0;) {
        double c = 0;
        for (std::size_t j = 0; j < d; ++j) c += double(w(k, j)) * double(u_hat(k, j));
        for (std::size_t i = 0; i < n; ++i) {
            double r = double(b(k));
            for (std::size_t j = 0; j < d; ++j) r += double(w(k, j)) * double(y(i, j));
            const double h = std::tanh(planar_root(c, r));
            for (std::size_t j = 0; j < d; ++j) y(i, j) = T(double(y(i, j)) - h * double(u_hat(k, j)));
        }
    }
    return y;
}

}  // namespace

Var PlanarFlow::inverse(const Var& y) const {
    if (y.dim() != 2 || y.shape()[1] != dim_)
        throw ShapeError("PlanarFlow::inverse", "expects points (N, " + std::to_string(dim_) + "), got " +
                                                    shape_str(y.shape()));
    if (y.dtype() != u.dtype())
        throw DtypeError("PlanarFlow::inverse", std::string("points are ") + dtype_name(y.dtype()) +
                                                    ", the flow's parameters " + dtype_name(u.dtype()));
    NoGradGuard no_grad;
    const Var uh = u_hat();
    return y.value().visit([&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        return Var(invert<T>(v, uh.value<T>(), w.value<T>(), b.value<T>()));
    });
}

}  // namespace odenet::nn
