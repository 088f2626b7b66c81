// 2-D convolution (cross-correlation, as PyTorch) by im2col + GEMM (odenet::gemm).
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
// MNIST ODE-Net's sizes (P = 36) a per-sample GEMM would be 36 columns wide, too thin to run
// well. B is chosen so a chunk has about kChunkColumns columns, which bounds the buffers to a
// few MB (kept per thread between calls, see Workspace). Chunks are independent, so they are
// what odenet's threads share (Note [One thread owner]); the weight gradient, a sum over
// chunks, keeps one partial sum per thread. How im2col builds the columns: Note [Same-width fast
// path] for 'same' convolutions (3x3, padding 1), Note [Tap tables] for all others.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/blas_info.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

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

// Output columns [lo, hi) of a row: a range of entries.
struct Span {
    std::size_t lo, hi;
};

// Note [Tap tables]
// The general path (any stride; the ODE-Net's 4x4 stride-2 downsampling) reads, for tap (i, j)
// and output pixel q = (oy, ox), pixel (oy·s + i, ox·s + j) of the input plane padded by `pad`
// zeros on every side. That offset depends only on the tap and q, so it is computed once per
// call into a table, and im2col / col2im become one branch-free gather / scatter loop per
// (channel, tap, sample) over a padded copy of the plane. The row-by-row version it replaced
// spent more on per-run bookkeeping (runs of 6 entries at 6x6 outputs) than on the copies.
void tap_tables(const Geometry& g, std::int32_t* tables) {
    for (std::size_t i = 0; i < g.kh; ++i) {
        for (std::size_t j = 0; j < g.kw; ++j) {
            std::int32_t* t = tables + (i * g.kw + j) * g.pixels();
            for (std::size_t oy = 0; oy < g.ho; ++oy) {
                for (std::size_t ox = 0; ox < g.wo; ++ox) {
                    const std::size_t y = oy * g.stride + i, x = ox * g.stride + j;  // + pad
                    t[oy * g.wo + ox] = std::int32_t(y * (g.w + 2 * g.pad) + x);  // in the padded plane
                }
            }
        }
    }
}

// cols[(c, i, j), q] = x[c, table_ij[q]] (0 for padding), rows ld apart, for one sample. The
// plane is first copied into `padded` with a zero border, where every table entry is valid:
// the gather then has no branch (and compiles to vector gathers).
template <class T>
void im2col_tables(const T* x, const Geometry& g, const std::int32_t* tables, T* padded, T* cols, std::size_t ld) {
    const std::size_t P = g.pixels(), wp = g.w + 2 * g.pad, hp = g.h + 2 * g.pad;
    for (std::size_t c = 0; c < g.c; ++c) {
        const T* plane = x + c * g.h * g.w;
        std::fill_n(padded, hp * wp, T(0));
        for (std::size_t y = 0; y < g.h; ++y) std::copy_n(plane + y * g.w, g.w, padded + (y + g.pad) * wp + g.pad);
        for (std::size_t tap = 0; tap < g.kh * g.kw; ++tap) {
            T* row = cols + (c * g.kh * g.kw + tap) * ld;
            const std::int32_t* t = tables + tap * P;
            for (std::size_t q = 0; q < P; ++q) row[q] = padded[t[q]];
        }
    }
}

// The adjoint: dx[c, table_ij[q]] += cols[(c, i, j), q], through a padded plane whose border
// (the padding's gradient) is dropped. Within one tap the table is injective, so the adds of a
// row never collide.
template <class T>
void col2im_tables(const T* cols, std::size_t ld, const Geometry& g, const std::int32_t* tables, T* padded, T* dx) {
    const std::size_t P = g.pixels(), wp = g.w + 2 * g.pad, hp = g.h + 2 * g.pad;
    for (std::size_t c = 0; c < g.c; ++c) {
        std::fill_n(padded, hp * wp, T(0));
        for (std::size_t tap = 0; tap < g.kh * g.kw; ++tap) {
            const T* row = cols + (c * g.kh * g.kw + tap) * ld;
            const std::int32_t* t = tables + tap * P;
            for (std::size_t q = 0; q < P; ++q) padded[t[q]] += row[q];
        }
        T* plane = dx + c * g.h * g.w;
        for (std::size_t y = 0; y < g.h; ++y) {
            const T* src = padded + (y + g.pad) * wp + g.pad;
            for (std::size_t x = 0; x < g.w; ++x) plane[y * g.w + x] += src[x];
        }
    }
}

// Note [Same-width fast path]
// With stride 1 and an output the size of the input (kh = kw = 2·pad + 1: the ODE-Net's 3x3 /
// padding-1 convolutions), output pixel p of a chunk, numbered (b, oy, ox) row-major, reads for
// tap (i, j) the input pixel (b, oy + i - pad, ox + j - pad): entry p + d of the chunk's input
// staged channel-major as (C, B·H·W), with d = (i - pad)·W + (j - pad), when that pixel lies
// inside the image, and 0 (padding) otherwise. Whether it does depends only on the tap and on
// p's place in its image: one mask per tap. Each row of cols is then one shifted, masked copy of
// a staged channel (a vectorised run of B·H·W entries) instead of one short copy per sample and
// image row; reads shifted past the chunk's ends are exactly masked ones and are skipped.
// col2im is the same map transposed. Masks select, never multiply, so an inf or NaN in the
// input stays out of padded entries, as with explicit zero padding.
bool same_width(const Geometry& g) {
    return g.stride == 1 && g.wo == g.w && g.ho == g.h && g.pad < g.w && g.pad < g.h;
}

// masks[(i·kw + j)·ld + b·P + q] = 1 when tap (i, j) of output pixel q reads inside the image
// (periodic in b, so a shorter last chunk uses the first entries of each tap's row).
template <class T>
void same_width_masks(const Geometry& g, std::size_t ld, T* masks) {
    const std::size_t P = g.pixels();
    for (std::size_t i = 0; i < g.kh; ++i) {
        for (std::size_t j = 0; j < g.kw; ++j) {
            T* m = masks + (i * g.kw + j) * ld;
            for (std::size_t q = 0; q < P; ++q) {
                const std::size_t y = q / g.w + i, x = q % g.w + j;  // + pad
                m[q] = y >= g.pad && y < g.h + g.pad && x >= g.pad && x < g.w + g.pad ? T(1) : T(0);
            }
            for (std::size_t b = P; b < ld; b += P) std::copy_n(m, P, m + b);
        }
    }
}

// The entries p of a row whose shifted source p + d lies in [0, ld).
Span shifted_range(std::ptrdiff_t d, std::size_t ld) {
    const std::size_t lo = d < 0 ? std::min<std::size_t>(std::size_t(-d), ld) : 0;
    const std::size_t hi = d > 0 ? ld - std::min<std::size_t>(std::size_t(d), ld) : ld;
    return {lo, std::max(lo, hi)};
}

std::ptrdiff_t tap_shift(const Geometry& g, std::size_t i, std::size_t j) {
    return (std::ptrdiff_t(i) - std::ptrdiff_t(g.pad)) * std::ptrdiff_t(g.w) + std::ptrdiff_t(j) - std::ptrdiff_t(g.pad);
}

// dst[p] = mask[p] != 0 ? src[p + d] : 0 for p in [lo, hi) (where p + d >= 0), in explicit
// vectors: GCC's own vectorisation of the select spilled a register per iteration.
template <class T>
void masked_copy(const T* src, std::ptrdiff_t d, const T* mask, T* dst, std::size_t lo, std::size_t hi) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t L = Batch::size;
    const Batch zero(T(0));
    std::size_t p = lo;
    for (; p + L <= hi; p += L) {
        const Batch v = Batch::load_unaligned(src + (std::ptrdiff_t(p) + d));
        xsimd::select(Batch::load_unaligned(mask + p) != zero, v, zero).store_unaligned(dst + p);
    }
    for (; p < hi; ++p) dst[p] = mask[p] != T(0) ? src[std::ptrdiff_t(p) + d] : T(0);
}

// dst[p + d] += mask[p] != 0 ? src[p] : 0 for p in [lo, hi) (where p + d >= 0).
template <class T>
void masked_add(const T* src, const T* mask, T* dst, std::ptrdiff_t d, std::size_t lo, std::size_t hi) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t L = Batch::size;
    const Batch zero(T(0));
    std::size_t p = lo;
    for (; p + L <= hi; p += L) {
        const Batch v = xsimd::select(Batch::load_unaligned(mask + p) != zero, Batch::load_unaligned(src + p), zero);
        T* out = dst + (std::ptrdiff_t(p) + d);
        (Batch::load_unaligned(out) + v).store_unaligned(out);
    }
    for (; p < hi; ++p) dst[std::ptrdiff_t(p) + d] += mask[p] != T(0) ? src[p] : T(0);
}

// cols (K x ld) from the staged input xs (C x ld).
template <class T>
void im2col_same_width(const T* xs, const Geometry& g, const T* masks, std::size_t mask_ld, T* cols, std::size_t ld) {
    for (std::size_t c = 0; c < g.c; ++c) {
        for (std::size_t i = 0; i < g.kh; ++i) {
            for (std::size_t j = 0; j < g.kw; ++j) {
                T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                const T* m = masks + (i * g.kw + j) * mask_ld;
                const std::ptrdiff_t d = tap_shift(g, i, j);
                const Span sp = shifted_range(d, ld);
                const T* src = xs + c * ld;
                std::fill(row, row + sp.lo, T(0));
                masked_copy(src, d, m, row, sp.lo, sp.hi);
                std::fill(row + sp.hi, row + ld, T(0));
            }
        }
    }
}

// dxs (C x ld) = the adjoint of im2col_same_width applied to cols.
template <class T>
void col2im_same_width(const T* cols, std::size_t ld, const Geometry& g, const T* masks, std::size_t mask_ld, T* dxs) {
    std::fill_n(dxs, g.c * ld, T(0));
    for (std::size_t c = 0; c < g.c; ++c) {
        for (std::size_t i = 0; i < g.kh; ++i) {
            for (std::size_t j = 0; j < g.kw; ++j) {
                const T* row = cols + ((c * g.kh + i) * g.kw + j) * ld;
                const T* m = masks + (i * g.kw + j) * mask_ld;
                const std::ptrdiff_t d = tap_shift(g, i, j);
                const Span sp = shifted_range(d, ld);
                masked_add(row, m, dxs + c * ld, d, sp.lo, sp.hi);
            }
        }
    }
}

// (b, c, q) of samples [n0, n0 + nb) of t (N, C, Q) <-> chunk buffer (c, b·Q + q).
template <class T>
void to_chunk(const T* t, std::size_t n0, std::size_t nb, std::size_t channels, std::size_t q, T* buf) {
    for (std::size_t b = 0; b < nb; ++b)
        for (std::size_t k = 0; k < channels; ++k)
            std::copy_n(t + ((n0 + b) * channels + k) * q, q, buf + k * nb * q + b * q);
}
template <class T>
void from_chunk(const T* buf, std::size_t n0, std::size_t nb, std::size_t channels, std::size_t q, T* t) {
    for (std::size_t b = 0; b < nb; ++b)
        for (std::size_t k = 0; k < channels; ++k)
            std::copy_n(buf + k * nb * q + b * q, q, t + ((n0 + b) * channels + k) * q);
}

// The buffers of one call, per thread and kept between calls: the ODE-Net calls conv2d
// thousands of times at the same sizes, and fresh MB-sized buffers would be zeroed and
// page-faulted in on every call. The kernels never re-enter one another, so one set per thread
// suffices. cols: K x B·P; other: the output or gradient chunk, O x B·P; stage: the input (or
// its gradient) staged channel-major, C x B·P, and masks: kh·kw x B·P (same-width path only).
template <class T>
struct Workspace {
    T* cols;
    T* other;
    T* stage = nullptr;
    T* masks = nullptr;
    std::size_t mask_ld;
    const std::int32_t* tables = nullptr;  // general path: Note [Tap tables], and a padded plane
    T* padded = nullptr;
    Workspace(const Geometry& g, std::size_t ld) : mask_ld(ld) {
        const bool staged = same_width(g);
        const std::size_t n_cols = g.rows() * ld, n_other = g.o * ld;
        const std::size_t n_stage = staged ? g.c * ld : 0, n_masks = staged ? g.kh * g.kw * ld : 0;
        thread_local std::vector<T> buffer;
        const std::size_t total = n_cols + n_other + n_stage + n_masks;
        if (buffer.size() < total) buffer.resize(total);
        cols = buffer.data();
        other = cols + n_cols;
        if (staged) {
            stage = other + n_other;
            masks = stage + n_stage;
            same_width_masks(g, ld, masks);
        } else {
            thread_local std::vector<std::int32_t> table_buffer;
            table_buffer.resize(g.kh * g.kw * g.pixels());
            tap_tables(g, table_buffer.data());
            tables = table_buffer.data();
            thread_local std::vector<T> plane_buffer;
            plane_buffer.resize((g.h + 2 * g.pad) * (g.w + 2 * g.pad));
            padded = plane_buffer.data();
        }
    }
};

// cols (K x nb·P) of samples [n0, n0 + nb) of x.
template <class T>
void im2col_chunk(const T* x, std::size_t n0, std::size_t nb, const Geometry& g, Workspace<T>& ws, std::size_t ld) {
    const std::size_t sample = g.c * g.h * g.w;
    if (same_width(g)) {
        to_chunk(x, n0, nb, g.c, g.h * g.w, ws.stage);
        return im2col_same_width(ws.stage, g, ws.masks, ws.mask_ld, ws.cols, ld);
    }
    for (std::size_t b = 0; b < nb; ++b) im2col_tables(x + (n0 + b) * sample, g, ws.tables, ws.padded, ws.cols + b * g.pixels(), ld);
}

// dx of samples [n0, n0 + nb) (zero on entry) += col2im of cols.
template <class T>
void col2im_chunk(Workspace<T>& ws, std::size_t ld, std::size_t n0, std::size_t nb, const Geometry& g, T* dx) {
    const std::size_t sample = g.c * g.h * g.w;
    if (same_width(g)) {
        col2im_same_width(ws.cols, ld, g, ws.masks, ws.mask_ld, ws.stage);
        return from_chunk(ws.stage, n0, nb, g.c, g.h * g.w, dx);
    }
    for (std::size_t b = 0; b < nb; ++b) col2im_tables(ws.cols + b * g.pixels(), ld, g, ws.tables, ws.padded, dx + (n0 + b) * sample);
}

std::size_t chunk_count(const Geometry& g) { return (g.n + g.chunk() - 1) / g.chunk(); }

// Runs body(workspace, n0, nb, ld) for chunks [first, last) of the batch (samples n0 .. n0 + nb,
// ld = nb·P columns), with this thread's workspace.
template <class T, class F>
void for_chunks(const Geometry& g, std::size_t first, std::size_t last, F&& body) {
    const std::size_t B = g.chunk();
    Workspace<T> ws(g, B * g.pixels());
    for (std::size_t ci = first; ci < last; ++ci) {
        const std::size_t n0 = ci * B, nb = std::min(B, g.n - n0);
        body(ws, n0, nb, nb * g.pixels());
    }
}

template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const T* bias, const Geometry& g) {
    Tensor<T> y = Tensor<T>::from_shape(g.output());
    if (g.empty()) {
        for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] = bias ? bias[i / g.pixels() % g.o] : T(0);
        return y;
    }
    const std::size_t K = g.rows(), P = g.pixels();
    parallel_for(chunk_count(g), [&](std::size_t first, std::size_t last) {
        for_chunks<T>(g, first, last, [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
            im2col_chunk(x.data(), n0, nb, g, ws, ld);
            gemm(false, false, g.o, ld, K, w.data(), K, ws.cols, ld, T(0), ws.other, ld);
            for (std::size_t b = 0; b < nb; ++b) {
                for (std::size_t k = 0; k < g.o; ++k) {
                    const T* src = ws.other + k * ld + b * P;
                    T* dst = y.data() + ((n0 + b) * g.o + k) * P;
                    const T shift = bias ? bias[k] : T(0);
                    for (std::size_t q = 0; q < P; ++q) dst[q] = src[q] + shift;
                }
            }
        });
    });
    return y;
}

// dx = col2im(wᵀ g), chunk by chunk.
template <class T>
Tensor<T> conv_input_grad(const Tensor<T>& gy, const Tensor<T>& w, const Geometry& g) {
    Tensor<T> dx = xt::zeros<T>(g.input());
    if (g.empty()) return dx;
    const std::size_t K = g.rows(), P = g.pixels();
    parallel_for(chunk_count(g), [&](std::size_t first, std::size_t last) {
        for_chunks<T>(g, first, last, [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
            to_chunk(gy.data(), n0, nb, g.o, P, ws.other);
            gemm(true, false, K, ld, g.o, w.data(), K, ws.other, ld, T(0), ws.cols, ld);
            col2im_chunk(ws, ld, n0, nb, g, dx.data());
        });
    });
    return dx;
}

// dw = Σ_chunks g colsᵀ.
template <class T>
Tensor<T> conv_weight_grad(const Tensor<T>& x, const Tensor<T>& gy, const Geometry& g) {
    Tensor<T> dw = xt::zeros<T>(g.weight());
    if (g.empty()) return dw;
    const std::size_t K = g.rows(), P = g.pixels();
    // One partial sum per thread (the first is dw itself), added up at the end.
    const std::size_t chunks = chunk_count(g);
    const std::size_t parts = std::min<std::size_t>(chunks, in_parallel_region() ? 1 : num_threads());
    std::vector<Tensor<T>> partial(parts - 1, Tensor<T>(xt::zeros<T>(g.weight())));
    // A block may get several parts (parallel_for runs everything inline when the pool is busy).
    parallel_for(parts, [&](std::size_t first_part, std::size_t last_part) {
        for (std::size_t part = first_part; part < last_part; ++part) {
            T* sum = part == 0 ? dw.data() : partial[part - 1].data();
            for_chunks<T>(g, chunks * part / parts, chunks * (part + 1) / parts,
                          [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
                              im2col_chunk(x.data(), n0, nb, g, ws, ld);
                              to_chunk(gy.data(), n0, nb, g.o, P, ws.other);
                              gemm(false, true, g.o, K, ld, ws.other, ld, ws.cols, ld, T(1), sum, K);
                          });
        }
    });
    for (const Tensor<T>& p : partial)
        for (std::size_t i = 0; i < dw.size(); ++i) dw.data()[i] += p.data()[i];
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
