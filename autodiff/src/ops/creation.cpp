// Constructors of leaves (constants, ranges, random draws), random index sets, and the
// differentiable dtype conversion.
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <utility>

#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/random.hpp"

namespace odenet {

namespace ops {
std::size_t normalize_axis(int axis, std::size_t rank, const char* op) {
    const long r = static_cast<long>(rank);
    if (axis < -r || axis >= r) {
        throw ShapeError(op, "axis " + std::to_string(axis) + " is out of range for a tensor of rank " + std::to_string(rank));
    }
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}
}  // namespace ops

namespace {
// A leaf of `shape` filled with `value`; `op` names the caller in the ShapeError an overflowing
// shape gives (see Note [Checked element counts] in core/src/tensor.cpp).
Var filled(const Shape& shape, double value, Dtype dtype, bool requires_grad, const char* op) {
    auto make = [&]<class T>(T) {
        Tensor<T> t = empty_tensor<T>(shape, op);
        t.fill(static_cast<T>(value));
        return Var(std::move(t), requires_grad);
    };
    return dtype == Dtype::float32 ? make(float{}) : make(double{});
}
}  // namespace

Var full(const Shape& shape, double value, Dtype dtype, bool requires_grad) {
    return filled(shape, value, dtype, requires_grad, "full");
}
Var zeros(const Shape& shape, Dtype dtype, bool requires_grad) { return filled(shape, 0.0, dtype, requires_grad, "zeros"); }
Var ones(const Shape& shape, Dtype dtype, bool requires_grad) { return filled(shape, 1.0, dtype, requires_grad, "ones"); }
Var full_like(const Var& x, double value) { return full(x.shape(), value, x.dtype()); }
Var zeros_like(const Var& x) { return full_like(x, 0.0); }
Var ones_like(const Var& x) { return full_like(x, 1.0); }

Var randn(const Shape& shape, Dtype dtype) {
    if (dtype == Dtype::float32) return Var(odenet::randn<float>(shape));
    return Var(odenet::randn<double>(shape));
}
Var randn_like(const Var& x) { return randn(x.shape(), x.dtype()); }
Var rademacher_like(const Var& x) {
    if (x.dtype() == Dtype::float32) return Var(odenet::rademacher<float>(x.shape()));
    return Var(odenet::rademacher<double>(x.shape()));
}

namespace {
// A double as a user typed it ("0.1", "nan", "-inf"), for error messages.
std::string num(double v) {
    std::ostringstream ss;
    ss << v;
    return ss.str();
}

// A float64 or float32 leaf with entries value(i), i = 0 .. n-1, each computed in double and
// rounded once.
template <class F>
Var vector_of(std::size_t n, Dtype dtype, const char* op, F&& value) {
    auto build = [&]<class T>(T) {
        Tensor<T> t = empty_tensor<T>({n}, op);
        for (std::size_t i = 0; i < n; ++i) t.data()[i] = static_cast<T>(value(i));
        return Var(std::move(t));
    };
    return dtype == Dtype::float32 ? build(float{}) : build(double{});
}
}  // namespace

// Entry i is start + i h below the midpoint and stop - (n-1-i) h from it, h = (stop-start)/(n-1),
// as torch does: both ends come out exact and the rounding is symmetric.
Var linspace(double start, double stop, std::size_t n, Dtype dtype) {
    if (n == 0) throw ValueError("linspace", "n must be at least 1, got 0");
    if (!std::isfinite(start) || !std::isfinite(stop)) {
        throw ValueError("linspace",
                         "start and stop must be finite, got start " + num(start) + " and stop " + num(stop));
    }
    if (n == 1) return vector_of(1, dtype, "linspace", [&](std::size_t) { return start; });
    const double h = (stop - start) / static_cast<double>(n - 1);
    return vector_of(n, dtype, "linspace", [&](std::size_t i) {
        return i < n / 2 ? start + static_cast<double>(i) * h : stop - static_cast<double>(n - 1 - i) * h;
    });
}

// torch's checks and length: ceil((stop - start) / step) entries start + i step, computed in double.
Var arange(double start, double stop, double step, Dtype dtype) {
    if (!std::isfinite(start) || !std::isfinite(stop)) {
        throw ValueError("arange", "start and stop must be finite, got start " + num(start) + " and stop " + num(stop));
    }
    if (step == 0.0 || !std::isfinite(step)) {
        throw ValueError("arange", "step must be finite and nonzero, got " + num(step));
    }
    if ((step > 0 && stop < start) || (step < 0 && stop > start)) {
        throw ValueError("arange", "upper bound and lower bound inconsistent with step sign: start " + num(start) +
                                       ", stop " + num(stop) + ", step " + num(step));
    }
    const double count = std::ceil((stop - start) / step);
    // A tiny step over a wide range gives a count no size_t holds, and casting it would be
    // undefined; torch likewise rejects a size beyond int64.
    if (count > static_cast<double>(std::numeric_limits<std::ptrdiff_t>::max())) {
        throw ValueError("arange", "start " + num(start) + ", stop " + num(stop) + ", step " + num(step) + " gives " +
                                       num(count) + " entries, too many");
    }
    return vector_of(static_cast<std::size_t>(count), dtype, "arange",
                     [&](std::size_t i) { return start + static_cast<double>(i) * step; });
}

Var arange(double stop, Dtype dtype) { return arange(0.0, stop, 1.0, dtype); }

std::vector<std::size_t> randperm(std::size_t n, Generator& gen) { return choice(n, n, false, gen); }

// Without replacement: the first k steps of the Fisher-Yates shuffle in Durstenfeld's form
// (Durstenfeld 1964, CACM 7(7):420, Algorithm 235), run from the front so that p[0 .. k-1] is
// already a uniformly random k-permutation. O(n) memory even for k << n; a hash-map shuffle
// would be O(k) but is not needed at our sizes.
std::vector<std::size_t> choice(std::size_t n, std::size_t k, bool replace, Generator& gen) {
    if (!replace && k > n) {
        throw ValueError("choice", "cannot draw k = " + std::to_string(k) + " distinct indices from n = " +
                                       std::to_string(n) + " without replacement");
    }
    if (replace && n == 0 && k > 0) {
        throw ValueError("choice", "cannot draw k = " + std::to_string(k) + " indices from n = 0");
    }
    std::vector<std::size_t> out(k);
    if (replace) {
        for (std::size_t& i : out) i = static_cast<std::size_t>(gen.below(n));
        return out;
    }
    std::vector<std::size_t> p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = i;
    for (std::size_t i = 0; i < k; ++i) std::swap(p[i], p[i + static_cast<std::size_t>(gen.below(n - i))]);
    std::copy_n(p.begin(), k, out.begin());
    return out;
}

Var to_dtype(const Var& x, Dtype dtype) {
    if (x.dtype() == dtype) return x;
    Value out = x.value().visit([&](const auto& t) -> Value {
        if (dtype == Dtype::float32) return Value(Tensor<float>(xt::cast<float>(t)));
        return Value(Tensor<double>(xt::cast<double>(t)));
    });
    const Dtype from = x.dtype();
    return record("to_dtype", std::move(out), {&x},
                  [from](const Var& gy, const BackwardContext&) -> Grads { return {to_dtype(gy, from)}; });
}

}  // namespace odenet
