#pragma once
// Note [State requirements]
// The stepper (rk_step.hpp), the dense output and solve() touch a state only through
// StateOps<State>. A new state type (e.g. autodiff's Var) runs the whole solver once it
// specialises StateOps with these static members; nothing else is required:
//
//   State       zeros_like(const State& x)        a new state of x's shape (a stage buffer)
//   void        copy(State& dst, const State& src) dst takes src's value (a Var may rebind)
//   void        lincomb(State& out, const State* y, double h, const double* c,
//                       const State* const* k, int n)
//                                      out = y + h * sum_{j<n} c[j] * k[j], n <= 64; y may be null (then
//                                      0). out never aliases y or any k[j]. For Var: built from
//                                      differentiable ops, so every stage is recorded.
//   std::size_t size(const State& x)                 number of scalar elements
//   std::vector<std::size_t> shape(const State& x)   extents (for messages, batch index)
//   bool        same_shape(const State& a, const State& b)
//   double      rms_error(const State& err, const State& y0, const State& y1,
//                         double rtol, double atol)  RMS of err/(atol + rtol max(|y0|,|y1|));
//                                                    values only, never recorded
//   void        scaled_error(double* out, err, y0, y1, rtol, atol)  the same, elementwise, into
//                                                    size(err) doubles (for custom norms)
//   std::size_t argmax_scaled_error(err, y0, y1, rtol, atol)  flat index of the largest term
//   std::size_t first_nonfinite(const State& x)      flat index of a NaN/Inf, or kNpos
//   double      value_at(const State& x, std::size_t flat)   for error messages
// and optionally
//   bool        single_precision(const State& x)  true when f reads t in float32 (a Var or
//                                      tensor of floats): a step stopping at a jump time
//                                      keeps its distance in float32 ulps (default false)
//
// Time is always double; the element type of a state may be float or double.
#include <array>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/ode/detail/kernels.hpp"

namespace odenet::ode {

using detail::kNpos;

/// Specialised per state type; see Note [State requirements] above.
template <class State>
struct StateOps;

namespace detail {

// The shared implementation for states that are one contiguous array of T. Derived supplies
// data(x), size(x), shape(x), same_shape(a, b), zeros_like(x) and kStaticSize (N for a size
// known at compile time, else 0).
template <class State, class T, class Derived>
struct ContiguousOps {
    // Always inlined: for a 3-element state the call costs as much as the arithmetic. For large
    // states it is a thin wrapper around the out-of-line kernel.
    [[gnu::always_inline]] static void lincomb(State& out, const State* y, double h, const double* c,
                                               const State* const* k, int n) {
        const T* yp = y ? Derived::data(*y) : nullptr;
        if constexpr (Derived::kStaticSize > 0 && Derived::kStaticSize <= 16) {
            detail::lincomb_small<Derived::kStaticSize>(Derived::data(out), yp, h, c, k, n,
                                                        [](const State* x) { return Derived::data(*x); });
        } else {
            const T* kp[detail::kMaxTerms];
            for (int j = 0; j < n; ++j) kp[j] = Derived::data(*k[j]);
            detail::lincomb(Derived::data(out), yp, h, c, kp, n, Derived::size(out));
        }
    }
    static double rms_error(const State& err, const State& y0, const State& y1, double rtol, double atol) {
        return detail::rms_error(Derived::data(err), Derived::data(y0), Derived::data(y1), rtol, atol,
                                 Derived::size(err));
    }
    static void scaled_error(double* out, const State& err, const State& y0, const State& y1, double rtol,
                             double atol) {
        detail::scaled_error(out, Derived::data(err), Derived::data(y0), Derived::data(y1), rtol, atol,
                             Derived::size(err));
    }
    static std::size_t argmax_scaled_error(const State& err, const State& y0, const State& y1, double rtol,
                                           double atol) {
        return detail::argmax_scaled_error(Derived::data(err), Derived::data(y0), Derived::data(y1), rtol, atol,
                                           Derived::size(err));
    }
    static std::size_t first_nonfinite(const State& x) {
        return detail::first_nonfinite(Derived::data(x), Derived::size(x));
    }
    static double value_at(const State& x, std::size_t i) { return static_cast<double>(Derived::data(x)[i]); }
    static void copy(State& dst, const State& src) { dst = src; }
    static constexpr bool single_precision(const State&) { return std::is_same_v<T, float>; }
};

}  // namespace detail

/// odenet::Tensor<float> and odenet::Tensor<double>: any shape, typically (batch, ...).
template <class T>
struct StateOps<Tensor<T>> : detail::ContiguousOps<Tensor<T>, T, StateOps<Tensor<T>>> {
    static constexpr std::size_t kStaticSize = 0;  // runtime size
    static T* data(Tensor<T>& x) { return x.data(); }
    static const T* data(const Tensor<T>& x) { return x.data(); }
    static std::size_t size(const Tensor<T>& x) { return x.size(); }
    static std::vector<std::size_t> shape(const Tensor<T>& x) { return {x.shape().begin(), x.shape().end()}; }
    static bool same_shape(const Tensor<T>& a, const Tensor<T>& b) {
        return a.dimension() == b.dimension() && std::equal(a.shape().begin(), a.shape().end(), b.shape().begin());
    }
    static Tensor<T> zeros_like(const Tensor<T>& x) { return Tensor<T>(x.shape(), T(0)); }
    static void copy(Tensor<T>& dst, const Tensor<T>& src) {
        // Reuse dst's memory when the shapes agree (xarray's assignment would too, but only
        // after building a temporary shape check; this keeps the output copies cheap).
        if (same_shape(dst, src))
            std::copy(src.data(), src.data() + src.size(), dst.data());
        else
            dst = src;
    }
};

/// The plain-vector fast path: std::vector<double> (or float) as in Boost.Odeint.
template <class T>
struct StateOps<std::vector<T>> : detail::ContiguousOps<std::vector<T>, T, StateOps<std::vector<T>>> {
    static constexpr std::size_t kStaticSize = 0;  // runtime size
    static T* data(std::vector<T>& x) { return x.data(); }
    static const T* data(const std::vector<T>& x) { return x.data(); }
    static std::size_t size(const std::vector<T>& x) { return x.size(); }
    static std::vector<std::size_t> shape(const std::vector<T>& x) { return {x.size()}; }
    static bool same_shape(const std::vector<T>& a, const std::vector<T>& b) { return a.size() == b.size(); }
    static std::vector<T> zeros_like(const std::vector<T>& x) { return std::vector<T>(x.size(), T(0)); }
    static void copy(std::vector<T>& dst, const std::vector<T>& src) {
        if (dst.size() == src.size())
            std::copy(src.begin(), src.end(), dst.begin());
        else
            dst = src;
    }
};

/// Fixed-size states (no heap at all): std::array<double, N>.
template <class T, std::size_t N>
struct StateOps<std::array<T, N>> : detail::ContiguousOps<std::array<T, N>, T, StateOps<std::array<T, N>>> {
    static constexpr std::size_t kStaticSize = N;  // small N take the unrolled kernel
    static T* data(std::array<T, N>& x) { return x.data(); }
    static const T* data(const std::array<T, N>& x) { return x.data(); }
    static constexpr std::size_t size(const std::array<T, N>&) { return N; }
    static std::vector<std::size_t> shape(const std::array<T, N>&) { return {N}; }
    static bool same_shape(const std::array<T, N>&, const std::array<T, N>&) { return true; }
    static std::array<T, N> zeros_like(const std::array<T, N>&) { return {}; }
};

}  // namespace odenet::ode
