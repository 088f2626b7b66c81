// Reductions. Sums over axes reuse core's sum_to (sum to the keepdims shape, then drop axes),
// so every reduction shares one tested loop.
#include <algorithm>
#include <limits>

#include <xtensor/xmath.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/shape.hpp"

namespace odenet {

namespace {

struct Reduction {
    Shape kept;     // x's shape with reduced axes set to 1
    Shape result;   // kept, or with the reduced axes removed
    std::size_t count = 1;  // elements per output entry
};

Reduction plan(const Shape& shape, const std::vector<int>& axes, bool keepdims, const char* op) {
    Reduction r{shape, {}, 1};
    std::vector<bool> reduced(shape.size(), false);
    for (int a : axes) {
        const std::size_t axis = ops::normalize_axis(a, shape.size(), op);
        if (reduced[axis]) throw ShapeError(op, "axis " + std::to_string(a) + " given twice");
        reduced[axis] = true;
        r.count *= shape[axis];
        r.kept[axis] = 1;
    }
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (keepdims || !reduced[i]) r.result.push_back(r.kept[i]);
    }
    return r;
}

std::vector<int> all_axes(const Var& x) {
    std::vector<int> axes(x.dim());
    for (std::size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int>(i);
    return axes;
}

using ops::AxisSplit;
using ops::split_at;

}  // namespace

Var sum(const Var& x) { return sum(x, all_axes(x), false); }
Var mean(const Var& x) { return mean(x, all_axes(x), false); }

// d sum/dx = broadcast of gy (through the kept shape)
Var sum(const Var& x, const std::vector<int>& axes, bool keepdims) {
    const Reduction r = plan(x.shape(), axes, keepdims, "sum");
    Value y = ops::map_value(x, [&](const auto& t) {
        auto s = sum_to(t, r.kept);
        s.reshape(r.result);
        return s;
    });
    Shape kept = r.kept, in_shape = x.shape();
    return record("sum", std::move(y), {&x}, [kept, in_shape](const Var& gy, const BackwardContext&) -> Grads {
        return {broadcast_to(reshape(gy, kept), in_shape)};
    });
}

// An entry that averages no elements is 0/0. PyTorch returns NaN for it; we throw, so that an
// empty batch cannot pass for a zero loss (the sum over it was 0) or a NaN far from its cause.
// A result with no entries (mean over axis 1 of a (0, 0) tensor) is fine and empty.
Var mean(const Var& x, const std::vector<int>& axes, bool keepdims) {
    const Reduction r = plan(x.shape(), axes, keepdims, "mean");
    if (r.count == 0 && numel(r.result) > 0) {
        std::string list;
        for (int a : axes) list += (list.empty() ? "" : ", ") + std::to_string(a);
        throw ValueError("mean", "axes {" + list + "} of a tensor of shape " + shape_str(x.shape()) +
                                     " hold 0 elements: nothing to average");
    }
    return sum(x, axes, keepdims) * (1.0 / static_cast<double>(std::max<std::size_t>(r.count, 1)));
}

// d max/dx = gy at the first maximal entry, 0 elsewhere (a constant one-hot mask).
Var max(const Var& x, int axis, bool keepdims) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "max");
    if (x.shape()[ax] == 0) throw ShapeError("max", "cannot take the maximum over an empty axis");
    const Reduction r = plan(x.shape(), {axis}, keepdims, "max");
    const AxisSplit s = split_at(x.shape(), ax);
    Var mask;
    Value y = x.value().visit([&](const auto& t) -> Value {
        using T = typename std::decay_t<decltype(t)>::value_type;
        Tensor<T> out = Tensor<T>::from_shape(r.result);
        Tensor<T> onehot = xt::zeros<T>(t.shape());
        for (std::size_t o = 0; o < s.outer; ++o) {
            for (std::size_t i = 0; i < s.inner; ++i) {
                const T* base = t.data() + o * s.n * s.inner + i;
                std::size_t best = 0;
                for (std::size_t k = 1; k < s.n; ++k)
                    if (base[k * s.inner] > base[best * s.inner]) best = k;
                out.data()[o * s.inner + i] = base[best * s.inner];
                onehot.data()[o * s.n * s.inner + best * s.inner + i] = T(1);
            }
        }
        mask = Var(std::move(onehot));
        return Value(std::move(out));
    });
    Shape kept = r.kept;
    return record("max", std::move(y), {&x}, [kept, mask](const Var& gy, const BackwardContext&) -> Grads {
        return {reshape(gy, kept) * mask};
    });
}

// logsumexp(x) = m + log Σ exp(x - m) with m = max(x) (constant: the result does not depend on it)
Var logsumexp(const Var& x, int axis, bool keepdims) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "logsumexp");
    Var m;
    {
        NoGradGuard constant;
        m = max(x, static_cast<int>(ax), true);
    }
    Var lse = log(sum(exp(x - m), {static_cast<int>(ax)}, true)) + m;
    if (keepdims) return lse;
    Shape squeezed;
    for (std::size_t i = 0; i < x.dim(); ++i)
        if (i != ax) squeezed.push_back(x.shape()[i]);
    return reshape(lse, squeezed);
}

Var log_softmax(const Var& x, int axis) { return x - logsumexp(x, axis, true); }

// Gradient of sum_to is the broadcast of gy; of broadcast_to, the engine's own sum_to.
Var sum_to(const Var& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    Value y = ops::map_value(x, [&](const auto& t) { return odenet::sum_to(t, shape); });
    Shape in_shape = x.shape();
    return record("sum_to", std::move(y), {&x}, [in_shape](const Var& gy, const BackwardContext&) -> Grads {
        return {broadcast_to(gy, in_shape)};
    });
}

Var broadcast_to(const Var& x, const Shape& shape) {
    if (x.shape() == shape) return x;
    if (!broadcastable_to(x.shape(), shape)) {
        throw ShapeError("broadcast_to", "cannot broadcast shape " + shape_str(x.shape()) + " to " + shape_str(shape));
    }
    numel(shape, "broadcast_to");  // a (1, 1) stretched to (2^32, 2^32) would wrap around to 0 elements
    Value y = ops::map_value(x, [&](const auto& t) {
        using T = typename std::decay_t<decltype(t)>::value_type;
        Tensor<T> out = xt::broadcast(t, shape);
        return out;
    });
    return record("broadcast_to", std::move(y), {&x}, [](const Var& gy, const BackwardContext&) -> Grads { return {gy}; });
}

}  // namespace odenet
