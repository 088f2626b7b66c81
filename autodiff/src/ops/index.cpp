// Ops that pick or join entries along one axis: concat, stack, slice, index_select, and
// index_add, the adjoint of the selections; gather and scatter_add, which pick per element.
// Every kernel views a tensor as (outer, n, inner) around the axis, so the selections move
// contiguous runs of `inner` elements with std::copy_n.
//
// The adjoint pairs (each op's backward is the other, so every order of derivative exists):
//   index_select(x, idx) ↔ index_add(g, idx, extent)     slice = index_select of start:stop:step
//   gather(x, index)     ↔ scatter_add(·, index, src) in src (in x, scatter_add passes g on)
//   concat(xs)          → slices of g                    stack = concat of reshaped inputs
#include <algorithm>
#include <memory>

#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {

using ops::AxisSplit;
using ops::split_at;

Shape with_extent(Shape shape, std::size_t axis, std::size_t extent) {
    shape[axis] = extent;
    return shape;
}

// out[..., k, ...] = t[..., idx[k], ...]
template <class T>
Tensor<T> select_rows(const Tensor<T>& t, std::size_t axis, const std::vector<std::size_t>& idx) {
    const AxisSplit s = split_at(t.shape(), axis);
    Tensor<T> out = Tensor<T>::from_shape(with_extent(t.shape(), axis, idx.size()));
    const std::size_t m = idx.size();
    // A range (slice, concat's backward) is one block per outer index: copying it row by row
    // made slicing the last axis one memmove call per element.
    bool range = m > 0;
    for (std::size_t k = 1; range && k < m; ++k) range = idx[k] == idx[0] + k;
    for (std::size_t o = 0; o < s.outer; ++o) {
        const T* src = t.data() + o * s.n * s.inner;
        T* dst = out.data() + o * m * s.inner;
        if (range) {
            std::copy_n(src + idx[0] * s.inner, m * s.inner, dst);
        } else {
            for (std::size_t k = 0; k < m; ++k) std::copy_n(src + idx[k] * s.inner, s.inner, dst + k * s.inner);
        }
    }
    return out;
}

// out = zeros with extent `size` on the axis; out[..., idx[k], ...] += g[..., k, ...]
template <class T>
Tensor<T> add_rows(const Tensor<T>& g, std::size_t axis, const std::vector<std::size_t>& idx, std::size_t size) {
    const AxisSplit s = split_at(g.shape(), axis);
    Tensor<T> out = empty_tensor<T>(with_extent(g.shape(), axis, size), "index_add");  // size is the caller's
    out.fill(T(0));
    for (std::size_t o = 0; o < s.outer; ++o) {
        const T* src = g.data() + o * s.n * s.inner;
        T* dst = out.data() + o * size * s.inner;
        for (std::size_t k = 0; k < s.n; ++k) {
            T* d = dst + idx[k] * s.inner;
            const T* x = src + k * s.inner;
            for (std::size_t i = 0; i < s.inner; ++i) d[i] += x[i];
        }
    }
    return out;
}

void check_indices(const std::vector<std::size_t>& idx, std::size_t extent, const char* op, const Shape& shape,
                   std::size_t axis) {
    for (std::size_t k = 0; k < idx.size(); ++k) {
        if (idx[k] >= extent) {
            throw ShapeError(op, "index " + std::to_string(idx[k]) + " (position " + std::to_string(k) +
                                     ") is out of range for axis " + std::to_string(axis) + " of extent " +
                                     std::to_string(extent) + " in shape " + shape_str(shape));
        }
    }
}

// Gathers without the range check (callers have checked) and records with the index_add adjoint.
Var select(const char* name, const Var& x, std::size_t axis, std::vector<std::size_t> idx) {
    Value y = ops::map_value(x, [&](const auto& t) { return select_rows(t, axis, idx); });
    const std::size_t extent = x.shape()[axis];
    return record(name, std::move(y), {&x},
                  [axis, idx = std::move(idx), extent](const Var& gy, const BackwardContext&) -> Grads {
                      return {index_add(gy, static_cast<int>(axis), idx, extent)};
                  });
}

void check_concat_shapes(const std::vector<Var>& xs, std::size_t axis) {
    const Shape& s0 = xs[0].shape();
    for (std::size_t i = 1; i < xs.size(); ++i) {
        ops::check_same_dtype(xs[0], xs[i], "concat");
        const Shape& si = xs[i].shape();
        bool ok = si.size() == s0.size();
        for (std::size_t a = 0; ok && a < s0.size(); ++a) ok = a == axis || si[a] == s0[a];
        if (!ok) {
            throw ShapeError("concat", "tensor 0 has shape " + shape_str(s0) + " but tensor " + std::to_string(i) +
                                           " has shape " + shape_str(si) + "; they must agree except on axis " +
                                           std::to_string(axis));
        }
    }
}

// ---- gather and scatter_add ----
// The index is validated once, by the public function, then held by a shared_ptr that the
// backward closures share, so a chain of higher-order derivatives neither copies nor rechecks it.
using SharedIndex = std::shared_ptr<const IndexTensor>;

Shape shape_of(const IndexTensor& index) { return Shape(index.shape().begin(), index.shape().end()); }

// The coordinates of flat position p in a row-major `shape`, printed like a shape: "(1, 0)".
std::string position_str(std::size_t p, const Shape& shape) {
    Shape at(shape.size());
    for (std::size_t a = shape.size(); a-- > 0;) {
        at[a] = p % shape[a];
        p /= shape[a];
    }
    return shape_str(at);
}

// index must have x's rank, x's extents off `axis`, and entries below x's extent on `axis`.
void check_index(const char* op, const Shape& x_shape, std::size_t axis, const IndexTensor& index) {
    const Shape is = shape_of(index);
    bool ok = is.size() == x_shape.size();
    for (std::size_t a = 0; ok && a < is.size(); ++a) ok = a == axis || is[a] == x_shape[a];
    if (!ok) {
        throw ShapeError(op, "index has shape " + shape_str(is) + " but x has shape " + shape_str(x_shape) +
                                 "; they must have the same rank and equal extents on every axis but axis " +
                                 std::to_string(axis));
    }
    const std::size_t extent = x_shape[axis];
    for (std::size_t p = 0; p < index.size(); ++p) {
        if (index.data()[p] >= extent) {
            throw ShapeError(op, "index " + std::to_string(index.data()[p]) + " at position " + position_str(p, is) +
                                     " is out of range for axis " + std::to_string(axis) + " of extent " +
                                     std::to_string(extent) + " in x's shape " + shape_str(x_shape));
        }
    }
}

// With t as (outer, n, inner) around the axis and index, src and out as (outer, m, inner), entry
// p = (o m + k) inner + i of index points at t's entry (o n + index[p]) inner + i.
std::size_t target(std::size_t p, std::size_t idx, std::size_t m, const AxisSplit& s) {
    const std::size_t i = p % s.inner, o = p / (m * s.inner);
    return (o * s.n + idx) * s.inner + i;
}

template <class T>
Tensor<T> gather_kernel(const Tensor<T>& t, std::size_t axis, const IndexTensor& index) {
    const AxisSplit s = split_at(t.shape(), axis);
    const std::size_t m = index.shape()[axis];
    Tensor<T> out = Tensor<T>::from_shape(shape_of(index));
    for (std::size_t p = 0; p < index.size(); ++p) out.data()[p] = t.data()[target(p, index.data()[p], m, s)];
    return out;
}

template <class T>
Tensor<T> scatter_add_kernel(const Tensor<T>& x, std::size_t axis, const IndexTensor& index, const Tensor<T>& src) {
    const AxisSplit s = split_at(x.shape(), axis);
    const std::size_t m = index.shape()[axis];
    Tensor<T> out = x;
    for (std::size_t p = 0; p < index.size(); ++p) out.data()[target(p, index.data()[p], m, s)] += src.data()[p];
    return out;
}

Var scatter_add_checked(const Var& x, std::size_t axis, const SharedIndex& index, const Var& src);

// d gather(x, index)/dx: g scattered into zeros of x's shape (repeated indices add).
Var gather_checked(const Var& x, std::size_t axis, const SharedIndex& index) {
    Value y = ops::map_value(x, [&](const auto& t) { return gather_kernel(t, axis, *index); });
    return record("gather", std::move(y), {&x},
                  [axis, index, shape = x.shape()](const Var& gy, const BackwardContext&) -> Grads {
                      return {scatter_add_checked(zeros(shape, gy.dtype()), axis, index, gy)};
                  });
}

// d scatter_add(x, index, src) = (g, gather(g, index)): x passes through, src's entry lands once.
Var scatter_add_checked(const Var& x, std::size_t axis, const SharedIndex& index, const Var& src) {
    Value y = ops::map_values(x, src, "scatter_add",
                              [&](const auto& tx, const auto& ts) { return scatter_add_kernel(tx, axis, *index, ts); });
    return record("scatter_add", std::move(y), {&x, &src},
                  [axis, index](const Var& gy, const BackwardContext& ctx) -> Grads {
                      return {gy, ctx.needs(1) ? gather_checked(gy, axis, index) : Var()};
                  });
}

}  // namespace

Var gather(const Var& x, int axis, const IndexTensor& index) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "gather");
    check_index("gather", x.shape(), ax, index);
    return gather_checked(x, ax, std::make_shared<const IndexTensor>(index));
}

Var scatter_add(const Var& x, int axis, const IndexTensor& index, const Var& src) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "scatter_add");
    if (shape_of(index) != src.shape()) {
        throw ShapeError("scatter_add", "index has shape " + shape_str(shape_of(index)) + " but src has shape " +
                                            shape_str(src.shape()) + "; they must be equal");
    }
    check_index("scatter_add", x.shape(), ax, index);
    return scatter_add_checked(x, ax, std::make_shared<const IndexTensor>(index), src);
}

// d index_select(x, idx)/dx: g scattered back, repeats adding.
Var index_select(const Var& x, int axis, const std::vector<std::size_t>& indices) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "index_select");
    check_indices(indices, x.shape()[ax], "index_select", x.shape(), ax);
    return select("index_select", x, ax, indices);
}

// index_add is linear in g; its adjoint is index_select with the same indices.
Var index_add(const Var& g, int axis, const std::vector<std::size_t>& indices, std::size_t size) {
    const std::size_t ax = ops::normalize_axis(axis, g.dim(), "index_add");
    if (g.shape()[ax] != indices.size()) {
        throw ShapeError("index_add", "g has shape " + shape_str(g.shape()) + " but " + std::to_string(indices.size()) +
                                          " indices for axis " + std::to_string(ax));
    }
    check_indices(indices, size, "index_add", with_extent(g.shape(), ax, size), ax);
    Value y = ops::map_value(g, [&](const auto& t) { return add_rows(t, ax, indices, size); });
    return record("index_add", std::move(y), {&g}, [ax, indices](const Var& gy, const BackwardContext&) -> Grads {
        return {index_select(gy, static_cast<int>(ax), indices)};
    });
}

// d slice(x)/dx: g placed back at start, start+step, ... of zeros (index_add).
Var slice(const Var& x, int axis, std::size_t start, std::size_t stop, std::size_t step) {
    const std::size_t ax = ops::normalize_axis(axis, x.dim(), "slice");
    const std::size_t extent = x.shape()[ax];
    if (step == 0 || start > stop || stop > extent) {
        throw ShapeError("slice", "range [" + std::to_string(start) + ", " + std::to_string(stop) + ") step " +
                                      std::to_string(step) + " does not fit axis " + std::to_string(ax) +
                                      " of extent " + std::to_string(extent) + " in shape " + shape_str(x.shape()) +
                                      " (needs start <= stop <= extent, step >= 1)");
    }
    if (start == 0 && stop == extent && step == 1) return x;
    std::vector<std::size_t> idx;
    for (std::size_t i = start; i < stop; i += step) idx.push_back(i);
    return select("slice", x, ax, std::move(idx));
}

// d concat(xs)/dxs_i = the slice of g at x_i's position on the axis.
Var concat(const std::vector<Var>& xs, int axis) {
    if (xs.empty()) throw ShapeError("concat", "needs at least one tensor");
    const std::size_t ax = ops::normalize_axis(axis, xs[0].dim(), "concat");
    check_concat_shapes(xs, ax);
    if (xs.size() == 1) return xs[0];
    std::vector<std::size_t> starts(xs.size() + 1, 0);
    for (std::size_t i = 0; i < xs.size(); ++i) starts[i + 1] = starts[i] + xs[i].shape()[ax];
    Value y = xs[0].value().visit([&](const auto& t0) -> Value {
        using T = typename std::decay_t<decltype(t0)>::value_type;
        Tensor<T> out = Tensor<T>::from_shape(with_extent(t0.shape(), ax, starts.back()));
        const AxisSplit s = split_at(out.shape(), ax);
        for (std::size_t i = 0; i < xs.size(); ++i) {
            const Tensor<T>& t = xs[i].value<T>();
            const std::size_t run = (starts[i + 1] - starts[i]) * s.inner;  // contiguous per outer index
            for (std::size_t o = 0; o < s.outer; ++o) {
                std::copy_n(t.data() + o * run, run, out.data() + (o * s.n + starts[i]) * s.inner);
            }
        }
        return Value(std::move(out));
    });
    return record("concat", std::move(y), xs, [ax, starts](const Var& gy, const BackwardContext& ctx) -> Grads {
        Grads g(starts.size() - 1);
        for (std::size_t i = 0; i < g.size(); ++i) {
            if (ctx.needs(i)) g[i] = slice(gy, static_cast<int>(ax), starts[i], starts[i + 1]);
        }
        return g;
    });
}

// stack = concat of the inputs with a new extent-1 axis (so its gradients are slices + reshapes).
Var stack(const std::vector<Var>& xs, int axis) {
    if (xs.empty()) throw ShapeError("stack", "needs at least one tensor");
    const Shape& s0 = xs[0].shape();
    const std::size_t ax = ops::normalize_axis(axis, s0.size() + 1, "stack");
    Shape unsqueezed(s0.size() + 1);  // s0 with an extent-1 axis at ax
    for (std::size_t a = 0, k = 0; a < unsqueezed.size(); ++a) unsqueezed[a] = a == ax ? 1 : s0[k++];
    std::vector<Var> expanded;
    expanded.reserve(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (xs[i].shape() != s0) {
            throw ShapeError("stack", "tensor 0 has shape " + shape_str(s0) + " but tensor " + std::to_string(i) +
                                          " has shape " + shape_str(xs[i].shape()) + "; stacked tensors must agree");
        }
        expanded.push_back(reshape(xs[i], unsqueezed));
    }
    return concat(expanded, static_cast<int>(ax));
}

}  // namespace odenet
