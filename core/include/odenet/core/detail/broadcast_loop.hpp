#pragma once
// Elementwise loops with NumPy broadcasting, written as plain loops that the compiler
// vectorises. xtensor's generic broadcasting assignment walks a stepper per element, which
// cost more than the arithmetic in profiles of small MLPs (bias adds, masks); the common
// layouts below (same shape, a scalar operand, a trailing-axes operand such as a bias) are
// single flat loops, and only the general case walks an index odometer.
#include <vector>

#include "odenet/core/shape.hpp"

namespace odenet {

namespace detail {
// Strides (in elements) of `shape` aligned to the trailing axes of `out`; 0 on broadcast axes.
inline std::vector<std::size_t> broadcast_strides(const Shape& shape, const Shape& out) {
    std::vector<std::size_t> strides(out.size(), 0);
    std::size_t stride = 1;
    for (std::size_t i = shape.size(); i-- > 0;) {
        const std::size_t j = i + out.size() - shape.size();
        strides[j] = shape[i] == 1 ? 0 : stride;
        stride *= shape[i];
    }
    return strides;
}

// True when `inner` equals the trailing axes of `outer` (ignoring inner's leading 1s).
inline bool is_trailing_block(const Shape& inner, const Shape& outer) {
    std::size_t skip = 0;
    while (skip < inner.size() && inner[skip] == 1) ++skip;
    const std::size_t n = inner.size() - skip;
    if (n > outer.size()) return false;
    for (std::size_t i = 0; i < n; ++i)
        if (inner[skip + i] != outer[outer.size() - n + i]) return false;
    return true;
}
}  // namespace detail

/// out[i] = f(a[i], b[i]) over the broadcast shape of a and b (checked; ShapeError names `where`).
template <class T, class F>
Tensor<T> broadcast_apply(const Tensor<T>& a, const Tensor<T>& b, F f, std::string_view where) {
    const Shape out_shape = a.shape() == b.shape() ? a.shape() : broadcast_shape(a.shape(), b.shape(), where);
    Tensor<T> out = Tensor<T>::from_shape(out_shape);
    const std::size_t n = out.size(), na = a.size(), nb = b.size();
    const T* pa = a.data();
    const T* pb = b.data();
    T* po = out.data();
    if (n == 0) return out;
    if (na == n && nb == n) {
        for (std::size_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    } else if (nb == 1 && na == n) {
        const T s = pb[0];
        for (std::size_t i = 0; i < n; ++i) po[i] = f(pa[i], s);
    } else if (na == 1 && nb == n) {
        const T s = pa[0];
        for (std::size_t i = 0; i < n; ++i) po[i] = f(s, pb[i]);
    } else if (na == n && detail::is_trailing_block(b.shape(), out_shape)) {
        for (std::size_t base = 0; base < n; base += nb)
            for (std::size_t i = 0; i < nb; ++i) po[base + i] = f(pa[base + i], pb[i]);
    } else if (nb == n && detail::is_trailing_block(a.shape(), out_shape)) {
        for (std::size_t base = 0; base < n; base += na)
            for (std::size_t i = 0; i < na; ++i) po[base + i] = f(pa[i], pb[base + i]);
    } else {
        // General case: odometer over the output's axes, inner axis as a loop.
        const std::size_t rank = out_shape.size();
        const auto sa = detail::broadcast_strides(a.shape(), out_shape);
        const auto sb = detail::broadcast_strides(b.shape(), out_shape);
        const std::size_t inner = out_shape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1];
        std::vector<std::size_t> index(rank, 0);
        std::size_t oa = 0, ob = 0;
        for (std::size_t done = 0; done < n; done += inner) {
            for (std::size_t k = 0; k < inner; ++k) po[done + k] = f(pa[oa + k * ia], pb[ob + k * ib]);
            for (std::size_t axis = rank - 1; axis-- > 0;) {
                oa += sa[axis];
                ob += sb[axis];
                if (++index[axis] < out_shape[axis]) break;
                oa -= sa[axis] * out_shape[axis];
                ob -= sb[axis] * out_shape[axis];
                index[axis] = 0;
            }
        }
    }
    return out;
}

/// out[i] = f(x[i]).
template <class T, class F>
Tensor<T> map_elements(const Tensor<T>& x, F f) {
    Tensor<T> out = Tensor<T>::from_shape(x.shape());
    const T* px = x.data();
    T* po = out.data();
    for (std::size_t i = 0, n = x.size(); i < n; ++i) po[i] = f(px[i]);
    return out;
}

}  // namespace odenet
