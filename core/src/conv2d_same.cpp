// The same-width convolution path: im2col chunk by chunk, then odenet::gemm.
//
// Note [Convolution layout]
// Two paths. 'Same' convolutions (stride 1, 3x3 with padding 1: the ODE-Net's dynamics) build
// the columns chunk by chunk (Note [Same-width fast path]); all others multiply by the columns
// without building them (Note [Implicit im2col] in conv2d_implicit.cpp). In the first, the batch
// is processed in chunks of B samples. A chunk's columns form one (K, B·P) matrix, K = C·kh·kw
// rows and P = H'·W' output pixels per sample, so one GEMM covers the chunk: at the MNIST
// ODE-Net's sizes (P = 36) a per-sample GEMM would be 36 columns wide, too thin to run well. B is
// chosen so a chunk has about kChunkColumns columns, which bounds the buffers to a few MB (kept
// per thread between calls, see Workspace). Chunks are independent, so they are what odenet's
// threads share (Note [One thread owner]); the weight gradient, a sum over chunks, keeps one
// partial sum per thread.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "conv2d_paths.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

namespace odenet::conv2d_detail {

namespace {

// 256..2048 measured within noise of each other at the ODE-Net's sizes (6x6 and 13x13 maps,
// 64 channels, batch 128, float32); far larger chunks thrash the cache (50 MB of columns at
// 13x13 ran 10x slower).
constexpr std::size_t kChunkColumns = 512;

// B: the samples per chunk.
std::size_t chunk_samples(const Conv2dGeometry& g) {
    return std::clamp<std::size_t>(kChunkColumns / std::max<std::size_t>(g.pixels(), 1), 1, std::max<std::size_t>(g.n, 1));
}

std::size_t chunk_count(const Conv2dGeometry& g) { return (g.n + chunk_samples(g) - 1) / chunk_samples(g); }

// Output columns [lo, hi) of a row: a range of entries.
struct Span {
    std::size_t lo, hi;
};

}  // namespace

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
bool same_width(const Conv2dGeometry& g) {
    return g.stride == 1 && g.wo == g.w && g.ho == g.h && g.pad < g.w && g.pad < g.h;
}

namespace {

// masks[(i·kw + j)·ld + b·P + q] = 1 when tap (i, j) of output pixel q reads inside the image
// (periodic in b, so a shorter last chunk uses the first entries of each tap's row).
template <class T>
void same_width_masks(const Conv2dGeometry& g, std::size_t ld, T* masks) {
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

std::ptrdiff_t tap_shift(const Conv2dGeometry& g, std::size_t i, std::size_t j) {
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
void im2col_same_width(const T* xs, const Conv2dGeometry& g, const T* masks, std::size_t mask_ld, T* cols,
                       std::size_t ld) {
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
void col2im_same_width(const T* cols, std::size_t ld, const Conv2dGeometry& g, const T* masks, std::size_t mask_ld,
                       T* dxs) {
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

// The buffers of one call of the same-width path, per thread and kept between calls: the
// ODE-Net calls conv2d thousands of times at the same sizes, and fresh MB-sized buffers would
// be zeroed and page-faulted in on every call. The kernels never re-enter one another, so one
// set per thread suffices. cols: K x B·P; other: the output or gradient chunk, O x B·P; stage:
// the input (or its gradient) staged channel-major, C x B·P; masks: kh·kw x B·P.
template <class T>
struct Workspace {
    T* cols;
    T* other;
    T* stage;
    T* masks;
    std::size_t mask_ld;
    Workspace(const Conv2dGeometry& g, std::size_t ld) : mask_ld(ld) {
        const std::size_t n_cols = g.rows() * ld, n_other = g.o * ld, n_stage = g.c * ld, n_masks = g.kh * g.kw * ld;
        thread_local std::vector<T> buffer;
        const std::size_t total = n_cols + n_other + n_stage + n_masks;
        if (buffer.size() < total) buffer.resize(total);
        cols = buffer.data();
        other = cols + n_cols;
        stage = other + n_other;
        masks = stage + n_stage;
        same_width_masks(g, ld, masks);
    }
};

// cols (K x nb·P) of samples [n0, n0 + nb) of x.
template <class T>
void im2col_chunk(const T* x, std::size_t n0, std::size_t nb, const Conv2dGeometry& g, Workspace<T>& ws,
                  std::size_t ld) {
    to_chunk(x, n0, nb, g.c, g.h * g.w, ws.stage);
    im2col_same_width(ws.stage, g, ws.masks, ws.mask_ld, ws.cols, ld);
}

// dx of samples [n0, n0 + nb) = col2im of cols.
template <class T>
void col2im_chunk(Workspace<T>& ws, std::size_t ld, std::size_t n0, std::size_t nb, const Conv2dGeometry& g, T* dx) {
    col2im_same_width(ws.cols, ld, g, ws.masks, ws.mask_ld, ws.stage);
    from_chunk(ws.stage, n0, nb, g.c, g.h * g.w, dx);
}

// Runs body(workspace, n0, nb, ld) for chunks [first, last) of the batch (samples n0 .. n0 + nb,
// ld = nb·P columns), with this thread's workspace.
template <class T, class F>
void for_chunks(const Conv2dGeometry& g, std::size_t first, std::size_t last, F&& body) {
    const std::size_t B = chunk_samples(g);
    Workspace<T> ws(g, B * g.pixels());
    for (std::size_t ci = first; ci < last; ++ci) {
        const std::size_t n0 = ci * B, nb = std::min(B, g.n - n0);
        body(ws, n0, nb, nb * g.pixels());
    }
}

}  // namespace

// y = bias + w · cols, chunk by chunk.
template <class T>
void same_width_forward(const T* x, const T* w, const T* bias, const Conv2dGeometry& g, T* y) {
    const std::size_t K = g.rows(), P = g.pixels();
    parallel_for(chunk_count(g), [&](std::size_t first, std::size_t last) {
        for_chunks<T>(g, first, last, [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
            im2col_chunk(x, n0, nb, g, ws, ld);
            gemm(false, false, g.o, ld, K, w, K, ws.cols, ld, T(0), ws.other, ld);
            for (std::size_t b = 0; b < nb; ++b) {
                for (std::size_t k = 0; k < g.o; ++k) {
                    const T* src = ws.other + k * ld + b * P;
                    T* dst = y + ((n0 + b) * g.o + k) * P;
                    const T shift = bias ? bias[k] : T(0);
                    for (std::size_t q = 0; q < P; ++q) dst[q] = src[q] + shift;
                }
            }
        });
    });
}

// dx = col2im(wᵀ g), chunk by chunk.
template <class T>
void same_width_input_grad(const T* gy, const T* w, const Conv2dGeometry& g, T* dx) {
    const std::size_t K = g.rows(), P = g.pixels();
    parallel_for(chunk_count(g), [&](std::size_t first, std::size_t last) {
        for_chunks<T>(g, first, last, [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
            to_chunk(gy, n0, nb, g.o, P, ws.other);
            gemm(true, false, K, ld, g.o, w, K, ws.other, ld, T(0), ws.cols, ld);
            col2im_chunk(ws, ld, n0, nb, g, dx);
        });
    });
}

// dw += Σ_chunks g colsᵀ.
template <class T>
void same_width_weight_grad(const T* x, const T* gy, const Conv2dGeometry& g, T* dw) {
    const std::size_t K = g.rows(), P = g.pixels();
    // One partial sum per thread (the first is dw itself), added up at the end.
    const std::size_t chunks = chunk_count(g);
    const std::size_t parts = std::clamp<std::size_t>(chunks, 1, in_parallel_region() ? 1 : num_threads());  // >= 1 (N = 0)
    std::vector<std::vector<T>> partial(parts - 1, std::vector<T>(g.o * K, T(0)));
    // A block may get several parts (parallel_for runs everything inline when the pool is busy).
    parallel_for(parts, [&](std::size_t first_part, std::size_t last_part) {
        for (std::size_t part = first_part; part < last_part; ++part) {
            T* sum = part == 0 ? dw : partial[part - 1].data();
            for_chunks<T>(g, chunks * part / parts, chunks * (part + 1) / parts,
                          [&](Workspace<T>& ws, std::size_t n0, std::size_t nb, std::size_t ld) {
                              im2col_chunk(x, n0, nb, g, ws, ld);
                              to_chunk(gy, n0, nb, g.o, P, ws.other);
                              gemm(false, true, g.o, K, ld, ws.other, ld, ws.cols, ld, T(1), sum, K);
                          });
        }
    });
    for (const auto& p : partial)
        for (std::size_t i = 0; i < p.size(); ++i) dw[i] += p[i];
}

template void same_width_forward(const float*, const float*, const float*, const Conv2dGeometry&, float*);
template void same_width_forward(const double*, const double*, const double*, const Conv2dGeometry&, double*);
template void same_width_input_grad(const float*, const float*, const Conv2dGeometry&, float*);
template void same_width_input_grad(const double*, const double*, const Conv2dGeometry&, double*);
template void same_width_weight_grad(const float*, const float*, const Conv2dGeometry&, float*);
template void same_width_weight_grad(const double*, const double*, const Conv2dGeometry&, double*);

}  // namespace odenet::conv2d_detail
