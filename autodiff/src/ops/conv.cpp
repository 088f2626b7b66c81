// 2-D convolution (cross-correlation, as PyTorch) by im2col + GEMM through OpenBLAS.
//
// Note [Convolution as three linear maps]
// y = B(x, w) is bilinear. Its two partial adjoints are
//   conv2d_input_grad(g, w)  = (∂B/∂x)ᵀ g   (im2col's adjoint, col2im, of wᵀ g)
//   conv2d_weight_grad(x, g) = (∂B/∂w)ᵀ g   (g colsᵀ)
// Each of the three is bilinear in its two tensor arguments, and the adjoints of each are the
// other two (⟨gg, I(g, w)⟩ = ⟨B(gg, w), g⟩, ⟨gg, W(x, g)⟩ = ⟨B(x, gg), g⟩), so each op's
// backward is written with the others and every order of derivative exists.
//
// Note [Convolution layout]
// The batch is processed in chunks of B samples. A chunk's columns form one (K, B·P) matrix,
// K = C·kh·kw rows and P = H'·W' output pixels per sample, so one GEMM covers the chunk: at the
// MNIST ODE-Net's sizes (P = 36) a per-sample GEMM would be 36 columns wide, too thin for
// OpenBLAS to run well. B is chosen so a chunk has about kChunkColumns columns, which bounds
// the buffers to a few MB (kept per thread between calls, see Workspace). At stride 1, im2col
// copies contiguous runs of input rows and zero-fills the padding, with no index arithmetic per
// element (see Note [Same-width fast path] for the 'same' convolutions).

#include <algorithm>
#include <memory>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/gemm.hpp"

namespace odenet {

namespace {

// 256..2048 measured within noise of each other at the ODE-Net's sizes (6x6 and 13x13 maps,
// 64 channels, batch 128, float32); far larger chunks thrash the cache (50 MB of columns at
// 13x13 ran 10x slower).
constexpr std::size_t kChunkColumns = 512;

struct Geometry {
    std::size_t n, c, h, w;  // input
    std::size_t o, kh, kw;   // weight
    std::size_t ho, wo;      // output
    std::size_t stride, pad;
    std::size_t rows() const { return c * kh * kw; }  // K
    std::size_t pixels() const { return ho * wo; }    // P
    std::size_t chunk() const {
        return std::clamp<std::size_t>(kChunkColumns / std::max<std::size_t>(pixels(), 1), 1, std::max<std::size_t>(n, 1));
    }
    // No channels: every product is an empty sum (and BLAS rejects a leading dimension of 0).
    bool empty() const { return c == 0; }
    Shape input() const { return {n, c, h, w}; }
    Shape weight() const { return {o, c, kh, kw}; }
    Shape output() const { return {n, o, ho, wo}; }
};

Geometry geometry(const Shape& x, const Shape& w, Conv2dOptions opt, const char* op) {
    if (x.size() != 4 || w.size() != 4) {
        throw ShapeError(op, "needs input (N, C, H, W) and weight (O, C, kh, kw), got " + shape_str(x) + " and " + shape_str(w));
    }
    if (x[1] != w[1]) {
        throw ShapeError(op, "input " + shape_str(x) + " has " + std::to_string(x[1]) + " channels but weight " +
                                 shape_str(w) + " expects " + std::to_string(w[1]));
    }
    if (opt.stride == 0) throw ShapeError(op, "stride must be >= 1");
    const std::size_t hp = x[2] + 2 * opt.padding, wp = x[3] + 2 * opt.padding;
    if (w[2] == 0 || w[3] == 0 || hp < w[2] || wp < w[3]) {
        throw ShapeError(op, "kernel " + shape_str(w) + " does not fit input " + shape_str(x) + " with padding " +
                                 std::to_string(opt.padding));
    }
    return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], (hp - w[2]) / opt.stride + 1, (wp - w[3]) / opt.stride + 1,
            opt.stride, opt.padding};
}

// Output columns [lo, hi) whose input column ox·stride + j - pad lies inside [0, w).
struct Span {
    std::size_t lo, hi;
};
Span valid_columns(const Geometry& g, std::size_t j) {
    const std::size_t s = g.stride;
    const std::size_t lo = g.pad > j ? (g.pad - j + s - 1) / s : 0;
    const std::size_t hi = g.w + g.pad > j ? std::min(g.wo, (g.w + g.pad - j - 1) / s + 1) : 0;
    return {std::min(lo, hi), hi};
}

// cols[(c, i, j), p] = x[c, oy·s + i - pad, ox·s + j - pad] (0 outside), rows ld apart.
// Any stride: one run per output row.
template <class T>
void im2col_rows(const T* x, const Geometry& g, T* cols, std::size_t ld) {
    for (std::size_t j = 0; j < g.kw; ++j) {
        const Span sp = valid_columns(g, j);
        for (std::size_t c = 0; c < g.c; ++c) {
            for (std::size_t i = 0; i < g.kh; ++i) {
                T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                for (std::size_t oy = 0; oy < g.ho; ++oy) {
                    T* dst = row + oy * g.wo;
                    const std::size_t iy = oy * g.stride + i;  // + pad
                    if (iy < g.pad || iy >= g.h + g.pad) {
                        std::fill_n(dst, g.wo, T(0));
                        continue;
                    }
                    std::fill_n(dst, sp.lo, T(0));
                    std::fill(dst + sp.hi, dst + g.wo, T(0));
                    if (sp.lo == sp.hi) continue;
                    // src[k·s] is input column (lo + k)·s + j - pad, inside the row by the choice of lo.
                    const T* src = x + (c * g.h + iy - g.pad) * g.w + (sp.lo * g.stride + j - g.pad);
                    if (g.stride == 1) {
                        std::copy_n(src, sp.hi - sp.lo, dst + sp.lo);
                    } else {
                        for (std::size_t k = 0; k < sp.hi - sp.lo; ++k) dst[sp.lo + k] = src[k * g.stride];
                    }
                }
            }
        }
    }
}

// The adjoint of im2col: dx[c, iy, ix] += cols[(c, i, j), p] for every p reading (iy, ix).
template <class T>
void col2im_rows(const T* cols, std::size_t ld, const Geometry& g, T* dx) {
    for (std::size_t j = 0; j < g.kw; ++j) {
        const Span sp = valid_columns(g, j);
        for (std::size_t c = 0; c < g.c; ++c) {
            for (std::size_t i = 0; i < g.kh; ++i) {
                const T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                if (sp.lo == sp.hi) continue;
                for (std::size_t oy = 0; oy < g.ho; ++oy) {
                    const std::size_t iy = oy * g.stride + i;
                    if (iy < g.pad || iy >= g.h + g.pad) continue;
                    const T* src = row + oy * g.wo + sp.lo;
                    T* dst = dx + (c * g.h + iy - g.pad) * g.w + (sp.lo * g.stride + j - g.pad);
                    if (g.stride == 1) {
                        for (std::size_t k = 0; k < sp.hi - sp.lo; ++k) dst[k] += src[k];
                    } else {
                        for (std::size_t k = 0; k < sp.hi - sp.lo; ++k) dst[k * g.stride] += src[k];
                    }
                }
            }
        }
    }
}

// Note [Same-width fast path]
// With stride 1 and W' = W (kw = 2·pad + 1, the ODE-Net's 3x3/padding-1 convolutions), the
// valid output rows of one (c, i, j) row of cols read one contiguous run of the input plane,
// shifted by d = j - pad. So im2col copies that run at once and then zeroes the |d| columns per
// row that wrapped across a row edge (they are padding); col2im zeroes the same entries of its
// scratch columns, then adds the run back at once. At 6x6 maps this replaces 6-element copies
// (a memmove call each) by one per (c, i, j).
bool same_width(const Geometry& g) { return g.stride == 1 && g.wo == g.w && g.pad < g.w; }

// Output rows [lo, hi) whose input row oy + i - pad lies inside [0, h) (stride 1).
Span valid_rows(const Geometry& g, std::size_t i) {
    const std::size_t lo = g.pad > i ? g.pad - i : 0;
    const std::size_t hi = g.h + g.pad > i ? std::min(g.ho, g.h + g.pad - i) : 0;
    return {std::min(lo, hi), hi};
}

// Zeroes, in each of `rows` rows of width w at dst, the first `e` (lead) or last `d` entries.
template <class T>
void zero_wrapped(T* dst, std::size_t rows, std::size_t w, std::size_t e, std::size_t d) {
    for (std::size_t r = 0; r < rows; ++r) {
        T* row = dst + r * w;
        for (std::size_t k = 0; k < e; ++k) row[k] = T(0);
        for (std::size_t k = w - d; k < w; ++k) row[k] = T(0);
    }
}

template <class T>
void im2col_same_width(const T* x, const Geometry& g, T* cols, std::size_t ld) {
    const std::size_t w = g.w;
    for (std::size_t c = 0; c < g.c; ++c) {
        for (std::size_t i = 0; i < g.kh; ++i) {
            const Span rows = valid_rows(g, i);
            const std::size_t n = (rows.hi - rows.lo) * w;
            const T* plane = n == 0 ? x : x + (c * g.h + rows.lo + i - g.pad) * w;  // lo + i >= pad when n > 0
            for (std::size_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                std::fill_n(row, rows.lo * w, T(0));
                std::fill(row + rows.hi * w, row + g.ho * w, T(0));
                if (n == 0) continue;
                T* dst = row + rows.lo * w;
                const std::size_t d = j > g.pad ? j - g.pad : 0, e = j < g.pad ? g.pad - j : 0;
                std::copy_n(plane + d, n - d - e, dst + e);
                zero_wrapped(dst, rows.hi - rows.lo, w, e, d);
            }
        }
    }
}

// Clobbers the wrapped (padding) entries of cols, which is scratch.
template <class T>
void col2im_same_width(T* cols, std::size_t ld, const Geometry& g, T* dx) {
    const std::size_t w = g.w;
    for (std::size_t c = 0; c < g.c; ++c) {
        for (std::size_t i = 0; i < g.kh; ++i) {
            const Span rows = valid_rows(g, i);
            const std::size_t n = (rows.hi - rows.lo) * w;
            if (n == 0) continue;
            T* plane = dx + (c * g.h + rows.lo + i - g.pad) * w;
            for (std::size_t j = 0; j < g.kw; ++j) {
                T* src = cols + ((c * g.kh + i) * g.kw + j) * ld + rows.lo * w;
                const std::size_t d = j > g.pad ? j - g.pad : 0, e = j < g.pad ? g.pad - j : 0;
                zero_wrapped(src, rows.hi - rows.lo, w, e, d);
                T* out = plane + d;
                const T* in = src + e;
                for (std::size_t k = 0; k < n - d - e; ++k) out[k] += in[k];
            }
        }
    }
}

template <class T>
void im2col(const T* x, const Geometry& g, T* cols, std::size_t ld) {
    if (same_width(g)) return im2col_same_width(x, g, cols, ld);
    im2col_rows(x, g, cols, ld);
}

template <class T>
void col2im(T* cols, std::size_t ld, const Geometry& g, T* dx) {
    if (same_width(g)) return col2im_same_width(cols, ld, g, dx);
    col2im_rows(cols, ld, g, dx);
}

// The column buffer (K x B·P) and the output or gradient chunk (O x B·P) of one call, in a
// per-thread buffer kept between calls: the ODE-Net calls conv2d thousands of times at the same
// sizes, and fresh MB-sized buffers would be zeroed and page-faulted in on every call. The
// kernels never re-enter one another, so one buffer per thread suffices.
template <class T>
struct Workspace {
    T* cols;
    T* other;
    Workspace(std::size_t n_cols, std::size_t n_other) {
        thread_local std::vector<T> buffer;
        if (buffer.size() < n_cols + n_other) buffer.resize(n_cols + n_other);
        cols = buffer.data();
        other = cols + n_cols;
    }
};

// (b, o, p) of samples [n0, n0 + nb) of t (N, O, P) <-> chunk buffer (o, b·P + p).
template <class T>
void to_chunk(const T* t, std::size_t n0, std::size_t nb, std::size_t o, std::size_t p, T* buf) {
    for (std::size_t b = 0; b < nb; ++b)
        for (std::size_t k = 0; k < o; ++k) std::copy_n(t + ((n0 + b) * o + k) * p, p, buf + k * nb * p + b * p);
}

template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const T* bias, const Geometry& g) {
    Tensor<T> y = Tensor<T>::from_shape(g.output());
    if (g.empty()) {
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = bias ? bias[i / g.pixels() % g.o] : T(0);
        return y;
    }
    const std::size_t K = g.rows(), P = g.pixels(), B = g.chunk();
    Workspace<T> ws(K * B * P, g.o * B * P);
    T* const cols = ws.cols;
    T* const out = ws.other;
    for (std::size_t n0 = 0; n0 < g.n; n0 += B) {
        const std::size_t nb = std::min(B, g.n - n0), ld = nb * P;
        for (std::size_t b = 0; b < nb; ++b) im2col(x.data() + (n0 + b) * g.c * g.h * g.w, g, cols + b * P, ld);
        gemm(false, false, g.o, ld, K, w.data(), K, cols, ld, T(0), out, ld);
        for (std::size_t b = 0; b < nb; ++b) {
            for (std::size_t k = 0; k < g.o; ++k) {
                const T* src = out + k * ld + b * P;
                T* dst = y.data() + ((n0 + b) * g.o + k) * P;
                const T shift = bias ? bias[k] : T(0);
                for (std::size_t q = 0; q < P; ++q) dst[q] = src[q] + shift;
            }
        }
    }
    return y;
}

// dx = col2im(wᵀ g), chunk by chunk.
template <class T>
Tensor<T> conv_input_grad(const Tensor<T>& gy, const Tensor<T>& w, const Geometry& g) {
    Tensor<T> dx = xt::zeros<T>(g.input());
    if (g.empty()) return dx;
    const std::size_t K = g.rows(), P = g.pixels(), B = g.chunk();
    Workspace<T> ws(K * B * P, g.o * B * P);
    T* const cols = ws.cols;
    T* const gbuf = ws.other;
    for (std::size_t n0 = 0; n0 < g.n; n0 += B) {
        const std::size_t nb = std::min(B, g.n - n0), ld = nb * P;
        to_chunk(gy.data(), n0, nb, g.o, P, gbuf);
        gemm(true, false, K, ld, g.o, w.data(), K, gbuf, ld, T(0), cols, ld);
        for (std::size_t b = 0; b < nb; ++b) col2im(cols + b * P, ld, g, dx.data() + (n0 + b) * g.c * g.h * g.w);
    }
    return dx;
}

// dw = Σ_chunks g colsᵀ.
template <class T>
Tensor<T> conv_weight_grad(const Tensor<T>& x, const Tensor<T>& gy, const Geometry& g) {
    Tensor<T> dw = xt::zeros<T>(g.weight());
    if (g.empty()) return dw;
    const std::size_t K = g.rows(), P = g.pixels(), B = g.chunk();
    Workspace<T> ws(K * B * P, g.o * B * P);
    T* const cols = ws.cols;
    T* const gbuf = ws.other;
    for (std::size_t n0 = 0; n0 < g.n; n0 += B) {
        const std::size_t nb = std::min(B, g.n - n0), ld = nb * P;
        for (std::size_t b = 0; b < nb; ++b) im2col(x.data() + (n0 + b) * g.c * g.h * g.w, g, cols + b * P, ld);
        to_chunk(gy.data(), n0, nb, g.o, P, gbuf);
        gemm(false, true, g.o, K, ld, gbuf, ld, cols, ld, T(1), dw.data(), K);
    }
    return dw;
}

void check_grad_shape(const Var& gy, const Geometry& g, const char* op) {
    if (gy.shape() != g.output()) {
        throw ShapeError(op, "g has shape " + shape_str(gy.shape()) + " but the convolution of " + shape_str(g.input()) +
                                 " with " + shape_str(g.weight()) + " gives " + shape_str(g.output()));
    }
}

}  // namespace

// See Note [Convolution as three linear maps]. d bias = g summed over (N, H', W').
Var conv2d(const Var& x, const Var& weight, const Var& bias, Conv2dOptions options) {
    const Geometry g = geometry(x.shape(), weight.shape(), options, "conv2d");
    const bool has_bias = bias.defined();
    if (has_bias) {
        ops::check_same_dtype(x, bias, "conv2d");
        if (bias.shape() != Shape{g.o}) {
            throw ShapeError("conv2d", "bias has shape " + shape_str(bias.shape()) + " but weight " +
                                           shape_str(weight.shape()) + " needs (" + std::to_string(g.o) + ")");
        }
    }
    Value y = ops::map_values(x, weight, "conv2d", [&](const auto& tx, const auto& tw) {
        using T = typename std::decay_t<decltype(tx)>::value_type;
        return conv_forward(tx, tw, has_bias ? bias.value<T>().data() : nullptr, g);
    });
    auto backward = [x, weight, options, has_bias](const Var& gy, const BackwardContext& ctx) -> Grads {
        Grads r(has_bias ? 3 : 2);
        if (ctx.needs(0)) r[0] = conv2d_input_grad(gy, weight, x.shape(), options);
        if (ctx.needs(1)) r[1] = conv2d_weight_grad(x, gy, weight.shape(), options);
        if (has_bias && ctx.needs(2)) r[2] = sum(gy, {0, 2, 3});
        return r;
    };
    if (has_bias) return record("conv2d", std::move(y), {&x, &weight, &bias}, std::move(backward));
    return record("conv2d", std::move(y), {&x, &weight}, std::move(backward));
}

// ⟨gg, I(g, w)⟩ = ⟨B(gg, w), g⟩: d/dg = conv2d(gg, w), d/dw = conv2d_weight_grad(gg, g).
Var conv2d_input_grad(const Var& gy, const Var& weight, const Shape& input_shape, Conv2dOptions options) {
    const Geometry g = geometry(input_shape, weight.shape(), options, "conv2d_input_grad");
    check_grad_shape(gy, g, "conv2d_input_grad");
    Value dx = ops::map_values(gy, weight, "conv2d_input_grad",
                               [&](const auto& tg, const auto& tw) { return conv_input_grad(tg, tw, g); });
    return record("conv2d_input_grad", std::move(dx), {&gy, &weight},
                  [gy, weight, options](const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d(gg, weight, Var(), options) : Var(),
                              ctx.needs(1) ? conv2d_weight_grad(gg, gy, weight.shape(), options) : Var()};
                  });
}

// ⟨gg, W(x, g)⟩ = ⟨B(x, gg), g⟩: d/dx = conv2d_input_grad(g, gg), d/dg = conv2d(x, gg).
Var conv2d_weight_grad(const Var& x, const Var& gy, const Shape& weight_shape, Conv2dOptions options) {
    const Geometry g = geometry(x.shape(), weight_shape, options, "conv2d_weight_grad");
    check_grad_shape(gy, g, "conv2d_weight_grad");
    Value dw = ops::map_values(x, gy, "conv2d_weight_grad",
                               [&](const auto& tx, const auto& tg) { return conv_weight_grad(tx, tg, g); });
    return record("conv2d_weight_grad", std::move(dw), {&x, &gy},
                  [x, gy, options](const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d_input_grad(gy, gg, x.shape(), options) : Var(),
                              ctx.needs(1) ? conv2d(x, gg, Var(), options) : Var()};
                  });
}

}  // namespace odenet
