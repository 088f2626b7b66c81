#pragma once
// Exact solutions shared by the solver tests (torchdiffeq's tests/problems.py in spirit):
// each problem has f(t, y), y0 and y(t) in closed form.
#include <array>
#include <cmath>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::ode::testing {

/// Exponential decay of a (2, 3) batch with rates lambda_ij = 0.5 + 0.25 (3 i + j):
/// y' = -lambda y, y = y0 exp(-lambda t).
template <class T>
struct Decay {
    static double rate(std::size_t i) { return 0.5 + 0.25 * static_cast<double>(i); }
    Tensor<T> y0() const {
        Tensor<T> y = Tensor<T>::from_shape({2, 3});
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = static_cast<T>(1.0 + 0.1 * i);
        return y;
    }
    Tensor<T> operator()(double, const Tensor<T>& y) const {
        Tensor<T> dy(y.shape());
        for (std::size_t i = 0; i < y.size(); ++i) dy.data()[i] = static_cast<T>(-rate(i)) * y.data()[i];
        return dy;
    }
    Tensor<T> exact(double t) const {
        Tensor<T> y = y0();
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] *= static_cast<T>(std::exp(-rate(i) * t));
        return y;
    }
};

/// y' = A y for a batch of 4-vectors, A = diag(B1, B2) with rotation-decay blocks
/// B = [[a, -w], [w, a]], so exp(A t) = diag(e^{a t} R(w t)) in closed form.
struct LinearSystem {
    static constexpr double a[2] = {-0.3, 0.1};
    static constexpr double w[2] = {2.0, 0.7};
    Tensor<double> y0() const {
        Tensor<double> y = Tensor<double>::from_shape({3, 4});
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = std::cos(1.0 + i);
        return y;
    }
    Tensor<double> operator()(double, const Tensor<double>& y) const {
        Tensor<double> dy(y.shape());
        for (std::size_t r = 0; r < y.shape()[0]; ++r)
            for (int b = 0; b < 2; ++b) {
                const double u = y(r, 2 * b), v = y(r, 2 * b + 1);
                dy(r, 2 * b) = a[b] * u - w[b] * v;
                dy(r, 2 * b + 1) = w[b] * u + a[b] * v;
            }
        return dy;
    }
    Tensor<double> exact(double t) const {
        Tensor<double> y0v = y0(), y(y0v.shape());
        for (std::size_t r = 0; r < y.shape()[0]; ++r)
            for (int b = 0; b < 2; ++b) {
                const double g = std::exp(a[b] * t), c = std::cos(w[b] * t), s = std::sin(w[b] * t);
                const double u = y0v(r, 2 * b), v = y0v(r, 2 * b + 1);
                y(r, 2 * b) = g * (c * u - s * v);
                y(r, 2 * b + 1) = g * (s * u + c * v);
            }
        return y;
    }
};

/// x'' = -omega^2 x as (x, v): x = cos(omega t), v = -omega sin(omega t).
struct Harmonic {
    double omega = 3.0;
    Tensor<double> y0() const { return Tensor<double>({1.0, 0.0}); }
    Tensor<double> operator()(double, const Tensor<double>& y) const {
        return Tensor<double>({y(1), -omega * omega * y(0)});
    }
    Tensor<double> exact(double t) const { return Tensor<double>({std::cos(omega * t), -omega * std::sin(omega * t)}); }
};

/// y' = cos t: y = y0 + sin t (the RHS depends on t only).
struct CosRhs {
    Tensor<double> y0() const { return Tensor<double>({0.5}); }
    Tensor<double> operator()(double t, const Tensor<double>& y) const { return Tensor<double>(y.shape(), std::cos(t)); }
    Tensor<double> exact(double t) const { return Tensor<double>({0.5 + std::sin(t)}); }
};

/// A nonlinear, non-autonomous, coupled system with a known solution g(t) = (sin t, cos 2t):
/// y' = g'(t) + N(y) - N(g(t)), N(y) = (y0 y1, -y0^2). Generic enough that no order condition
/// is satisfied by accident (unlike scalar or linear problems), so fitted orders are the
/// methods' true orders.
struct Nonlinear {
    Tensor<double> y0() const { return Tensor<double>({0.0, 1.0}); }
    static std::array<double, 2> g(double t) { return {std::sin(t), std::cos(2 * t)}; }
    Tensor<double> operator()(double t, const Tensor<double>& y) const {
        const auto gt = g(t);
        return Tensor<double>({std::cos(t) + y(0) * y(1) - gt[0] * gt[1],
                               -2 * std::sin(2 * t) - y(0) * y(0) + gt[0] * gt[0]});
    }
    Tensor<double> exact(double t) const {
        const auto gt = g(t);
        return Tensor<double>({gt[0], gt[1]});
    }
};

/// Euler's equations of a rigid body, HNW I, Sec. II.10 (Krogh's test problem): genuinely
/// nonlinear and coupled, with no closed form; references come from a fine dop853 solve.
struct RigidBody {
    Tensor<double> y0() const { return Tensor<double>({0.0, 1.0, 1.0}); }
    Tensor<double> operator()(double, const Tensor<double>& y) const {
        return Tensor<double>({y(1) * y(2), -y(0) * y(2), -0.51 * y(0) * y(1)});
    }
};

/// Lorenz (1963) with sigma = 10, rho = 28, beta = 8/3, in place on any 3-array.
struct Lorenz {
    template <class S>
    void operator()(double, const S& u, S& du) const {
        du[0] = 10.0 * (u[1] - u[0]);
        du[1] = u[0] * (28.0 - u[2]) - u[1];
        du[2] = u[0] * u[1] - (8.0 / 3.0) * u[2];
    }
};

template <class T>
double max_abs_diff(const Tensor<T>& a, const Tensor<T>& b) {
    double m = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i)
        m = std::max(m, std::abs(static_cast<double>(a.data()[i]) - static_cast<double>(b.data()[i])));
    return m;
}

/// Least-squares slope of log(ys) against log(xs).
inline double fitted_slope(const std::vector<double>& xs, const std::vector<double>& ys) {
    double mx = 0, my = 0;
    const double n = static_cast<double>(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
        mx += std::log(xs[i]) / n;
        my += std::log(ys[i]) / n;
    }
    double sxy = 0, sxx = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        sxy += (std::log(xs[i]) - mx) * (std::log(ys[i]) - my);
        sxx += (std::log(xs[i]) - mx) * (std::log(xs[i]) - mx);
    }
    return sxy / sxx;
}

}  // namespace odenet::ode::testing
