// Average pooling and its adjoint. Both are linear, and each is the other's backward, so every
// order of derivative exists (the second derivative of a linear map is 0).
#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"

namespace odenet {

namespace {

struct PoolGeometry {
    std::size_t planes, h, w, ho, wo, k, s;  // planes = N·C
};

PoolGeometry pool_geometry(const Shape& x, std::size_t kernel, std::size_t stride, const char* op) {
    if (x.size() != 4) throw ShapeError(op, "needs an (N, C, H, W) input, got " + shape_str(x));
    if (kernel == 0 || stride == 0) throw ShapeError(op, "kernel and stride must be >= 1");
    if (x[2] < kernel || x[3] < kernel) {
        throw ShapeError(op, "kernel " + std::to_string(kernel) + " does not fit input " + shape_str(x));
    }
    return {x[0] * x[1], x[2], x[3], (x[2] - kernel) / stride + 1, (x[3] - kernel) / stride + 1, kernel, stride};
}

// y[p, oy, ox] = mean of x over the window at (oy·s, ox·s).
template <class T>
Tensor<T> pool_forward(const Tensor<T>& x, const PoolGeometry& g, const Shape& out_shape) {
    Tensor<T> y = Tensor<T>::from_shape(out_shape);
    const T scale = T(1) / T(g.k * g.k);
    for (std::size_t p = 0; p < g.planes; ++p) {
        const T* src = x.data() + p * g.h * g.w;
        T* dst = y.data() + p * g.ho * g.wo;
        for (std::size_t oy = 0; oy < g.ho; ++oy) {
            for (std::size_t ox = 0; ox < g.wo; ++ox) {
                const T* win = src + oy * g.s * g.w + ox * g.s;
                T acc = 0;
                for (std::size_t i = 0; i < g.k; ++i)
                    for (std::size_t j = 0; j < g.k; ++j) acc += win[i * g.w + j];
                dst[oy * g.wo + ox] = acc * scale;
            }
        }
    }
    return y;
}

// dx[p, window at (oy·s, ox·s)] += g[p, oy, ox] / k².
template <class T>
Tensor<T> pool_adjoint(const Tensor<T>& gy, const PoolGeometry& g, const Shape& in_shape) {
    Tensor<T> dx = xt::zeros<T>(in_shape);
    const T scale = T(1) / T(g.k * g.k);
    for (std::size_t p = 0; p < g.planes; ++p) {
        const T* src = gy.data() + p * g.ho * g.wo;
        T* dst = dx.data() + p * g.h * g.w;
        for (std::size_t oy = 0; oy < g.ho; ++oy) {
            for (std::size_t ox = 0; ox < g.wo; ++ox) {
                T* win = dst + oy * g.s * g.w + ox * g.s;
                const T v = src[oy * g.wo + ox] * scale;
                for (std::size_t i = 0; i < g.k; ++i)
                    for (std::size_t j = 0; j < g.k; ++j) win[i * g.w + j] += v;
            }
        }
    }
    return dx;
}

}  // namespace

// d avg_pool2d/dx = avg_pool2d_backward(g): each window receives g / k².
Var avg_pool2d(const Var& x, std::size_t kernel, std::size_t stride) {
    const PoolGeometry g = pool_geometry(x.shape(), kernel, stride, "avg_pool2d");
    const Shape out_shape{x.shape()[0], x.shape()[1], g.ho, g.wo};
    Value y = ops::map_value(x, [&](const auto& t) { return pool_forward(t, g, out_shape); });
    Shape in_shape = x.shape();
    return record("avg_pool2d", std::move(y), {&x},
                  [kernel, stride, in_shape](const Var& gy, const BackwardContext&) -> Grads {
                      return {avg_pool2d_backward(gy, kernel, stride, in_shape)};
                  });
}

// The adjoint's adjoint is avg_pool2d itself.
Var avg_pool2d_backward(const Var& gy, std::size_t kernel, std::size_t stride, const Shape& input_shape) {
    const PoolGeometry g = pool_geometry(input_shape, kernel, stride, "avg_pool2d_backward");
    const Shape out_shape{input_shape[0], input_shape[1], g.ho, g.wo};
    if (gy.shape() != out_shape) {
        throw ShapeError("avg_pool2d_backward", "g has shape " + shape_str(gy.shape()) + " but pooling " +
                                                    shape_str(input_shape) + " gives " + shape_str(out_shape));
    }
    Value dx = ops::map_value(gy, [&](const auto& t) { return pool_adjoint(t, g, input_shape); });
    return record("avg_pool2d_backward", std::move(dx), {&gy},
                  [kernel, stride](const Var& gg, const BackwardContext&) -> Grads {
                      return {avg_pool2d(gg, kernel, stride)};
                  });
}

}  // namespace odenet
