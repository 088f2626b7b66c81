#include "odenet/core/shape.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "odenet/core/error.hpp"

namespace odenet {

Shape broadcast_shape(const Shape& a, const Shape& b, std::string_view where) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        // Align trailing axes; a missing leading axis counts as extent 1.
        const std::size_t ea = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::size_t eb = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (ea != eb && ea != 1 && eb != 1) {
            throw ShapeError(std::string(where), "shapes " + shape_str(a) + " and " + shape_str(b) +
                                                     " do not broadcast (axis " + std::to_string(i) + ": " +
                                                     std::to_string(ea) + " vs " + std::to_string(eb) + ")");
        }
        out[i] = ea == 1 ? eb : ea;
    }
    numel(out, where);  // (2^32, 1) and (1, 2^32) broadcast to 2^64 elements
    return out;
}

bool broadcastable_to(const Shape& from, const Shape& to) {
    if (from.size() > to.size()) return false;
    const std::size_t offset = to.size() - from.size();
    for (std::size_t i = 0; i < from.size(); ++i) {
        if (from[i] != 1 && from[i] != to[i + offset]) return false;
    }
    return true;
}

template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
    const Shape& gs = g.shape();
    if (gs == shape) return g;
    if (!broadcastable_to(shape, gs)) {
        throw ShapeError("sum_to", "cannot sum a gradient of shape " + shape_str(gs) + " to shape " + shape_str(shape));
    }
    // Walk g in row-major order; each g axis advances the output by the output's stride on that
    // axis, or by 0 where the axis was added or stretched by broadcasting.
    const std::size_t rank = gs.size();
    const std::size_t offset = rank - shape.size();
    std::vector<std::size_t> out_stride(rank, 0);
    for (std::size_t i = rank, stride = 1; i-- > offset;) {
        const std::size_t extent = shape[i - offset];
        if (extent != 1 || gs[i] == 1) out_stride[i] = stride;
        stride *= extent;
    }
    // An empty g broadcasts from any shape, e.g. (2^40, 2^40) to (0, 2^40, 2^40), so the size of
    // `shape` is not bounded by g's.
    Tensor<T> out = empty_tensor<T>(shape, "sum_to");
    out.fill(T(0));
    T* dst = out.data();
    const T* src = g.data();
    const std::size_t n = g.size();
    if (n == 0) return out;
    // Innermost axis as a tight loop, outer axes by an odometer.
    const std::size_t inner = rank == 0 ? 1 : gs[rank - 1];
    const std::size_t inner_stride = rank == 0 ? 0 : out_stride[rank - 1];
    std::vector<std::size_t> index(rank, 0);
    std::size_t base = 0;
    for (std::size_t done = 0; done < n; done += inner) {
        T* d = dst + base;
        if (inner_stride == 0) {
            T acc = 0;
            for (std::size_t k = 0; k < inner; ++k) acc += src[done + k];
            *d += acc;
        } else {
            for (std::size_t k = 0; k < inner; ++k) d[k] += src[done + k];
        }
        for (std::size_t axis = rank - 1; axis-- > 0;) {
            base += out_stride[axis];
            if (++index[axis] < gs[axis]) break;
            base -= out_stride[axis] * gs[axis];
            index[axis] = 0;
        }
    }
    return out;
}

template <class T>
void check_finite(const Tensor<T>& x, std::string_view where) {
    const T* data = x.data();
    for (std::size_t i = 0, n = x.size(); i < n; ++i) {
        if (!std::isfinite(data[i])) {
            char msg[128];
            std::snprintf(msg, sizeof msg, "non-finite value %g at flat index %zu of a tensor of shape ",
                          static_cast<double>(data[i]), i);
            throw ValueError(std::string(where), msg + shape_str(x.shape()));
        }
    }
}

template Tensor<float> sum_to(const Tensor<float>&, const Shape&);
template Tensor<double> sum_to(const Tensor<double>&, const Shape&);
template void check_finite(const Tensor<float>&, std::string_view);
template void check_finite(const Tensor<double>&, std::string_view);

}  // namespace odenet
