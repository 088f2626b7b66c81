#pragma once
// The two convolution algorithms behind core/conv2d.hpp, on raw row-major buffers whose shapes
// the geometry gives. Private to core/src: conv2d.cpp checks the shapes and picks the path.
//   same width  (conv2d_same.cpp, Note [Same-width fast path]): chunked im2col + gemm;
//   implicit    (conv2d_implicit.cpp, Note [Implicit im2col]): indexed_gemm over the input;
//   by phases   (conv2d_input_grad.cpp, Note [Input gradient by phases]): the input gradient
//               of the implicit path.
// Every function needs !g.empty(). The forwards and input gradients write every entry of their
// output; the weight gradients add into dw, which the caller zeroes.
#include <algorithm>
#include <cstddef>

#include "odenet/core/conv2d.hpp"
#include "odenet/core/parallel.hpp"

namespace odenet::conv2d_detail {

/// True when the same-width path applies: stride 1 and an output the size of the input.
bool same_width(const Conv2dGeometry& g);

template <class T>
void same_width_forward(const T* x, const T* w, const T* bias, const Conv2dGeometry& g, T* y);
template <class T>
void same_width_input_grad(const T* gy, const T* w, const Conv2dGeometry& g, T* dx);
template <class T>
void same_width_weight_grad(const T* x, const T* gy, const Conv2dGeometry& g, T* dw);

template <class T>
void implicit_forward(const T* x, const T* w, const T* bias, const Conv2dGeometry& g, T* y);
template <class T>
void implicit_weight_grad(const T* x, const T* gy, const Conv2dGeometry& g, T* dw);
template <class T>
void phase_input_grad(const T* gy, const T* w, const Conv2dGeometry& g, T* dx);

// Each of `planes` h x w planes of src into an hb x wb plane of dst at row `top`, column `left`,
// zeros around it (planes split between threads).
template <class T>
void bordered_copy(const T* src, std::size_t planes, std::size_t h, std::size_t w, std::size_t top, std::size_t left,
                   std::size_t hb, std::size_t wb, T* dst) {
    parallel_for(planes, [&](std::size_t first, std::size_t last) {
        for (std::size_t plane = first; plane < last; ++plane) {
            T* d = dst + plane * hb * wb;
            const T* from = src + plane * h * w;
            std::fill_n(d, hb * wb, T(0));
            for (std::size_t y = 0; y < h; ++y) std::copy_n(from + y * w, w, d + (y + top) * wb + left);
        }
    });
}

}  // namespace odenet::conv2d_detail
