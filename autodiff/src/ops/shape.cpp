// Ops that move elements without arithmetic: reshape, flatten, permute, transpose.
#include <numeric>

#include <xtensor/xmanipulation.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

// The gradient of a reshape is the reshape back.
Var reshape(const Var& x, const Shape& shape) {
    if (numel(shape, "reshape") != x.numel()) {  // checked: (2^32, 2^32) must not pass for 0 elements
        throw ShapeError("reshape", "cannot reshape " + shape_str(x.shape()) + " (" + std::to_string(x.numel()) +
                                        " elements) to " + shape_str(shape));
    }
    if (shape == x.shape()) return x;
    Value y = ops::map_value(x, [&](const auto& t) {
        auto out = t;  // one copy: Values are immutable once shared
        out.reshape(shape);
        return out;
    });
    Shape in_shape = x.shape();
    return record("reshape", std::move(y), {&x}, [in_shape](const Var& gy, const BackwardContext&) -> Grads {
        return {reshape(gy, in_shape)};
    });
}

Var flatten(const Var& x, int start_axis) {
    const std::size_t start = ops::normalize_axis(start_axis, x.dim(), "flatten");
    Shape s(x.shape().begin(), x.shape().begin() + start);
    s.push_back(numel(Shape(x.shape().begin() + start, x.shape().end())));
    return reshape(x, s);
}

// The gradient of a permutation is the inverse permutation.
Var permute(const Var& x, const std::vector<std::size_t>& axes) {
    if (axes.size() != x.dim()) {
        throw ShapeError("permute", "got " + std::to_string(axes.size()) + " axes for a tensor of shape " + shape_str(x.shape()));
    }
    std::vector<std::size_t> inverse(axes.size(), axes.size());
    for (std::size_t i = 0; i < axes.size(); ++i) {
        if (axes[i] >= axes.size() || inverse[axes[i]] != axes.size()) {
            throw ShapeError("permute", "axes are not a permutation of 0.." + std::to_string(axes.size() - 1));
        }
        inverse[axes[i]] = i;
    }
    Value y = ops::map_value(x, [&](const auto& t) {
        using T = typename std::decay_t<decltype(t)>::value_type;
        Tensor<T> out = xt::transpose(t, axes);
        return out;
    });
    return record("permute", std::move(y), {&x}, [inverse](const Var& gy, const BackwardContext&) -> Grads {
        return {permute(gy, inverse)};
    });
}

Var transpose(const Var& x, int axis0, int axis1) {
    const std::size_t a0 = ops::normalize_axis(axis0, x.dim(), "transpose");
    const std::size_t a1 = ops::normalize_axis(axis1, x.dim(), "transpose");
    std::vector<std::size_t> axes(x.dim());
    std::iota(axes.begin(), axes.end(), 0);
    std::swap(axes[a0], axes[a1]);
    return permute(x, axes);
}

}  // namespace odenet
