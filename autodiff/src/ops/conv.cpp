// 2-D convolution (cross-correlation, as PyTorch) as matrix products: im2col + odenet::gemm for
// 'same' convolutions, odenet::indexed_gemm over the input itself for all others.
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
// Two paths. 'Same' convolutions (stride 1, 3x3 with padding 1: the ODE-Net's dynamics) build
// the columns chunk by chunk (Note [Same-width fast path]); all others multiply by the columns
// without building them (Note [Implicit im2col]). In the first, the batch is processed in
// chunks of B samples. A chunk's columns form one (K, B·P) matrix, K = C·kh·kw rows and P =
// H'·W' output pixels per sample, so one GEMM covers the chunk: at the MNIST ODE-Net's sizes
// (P = 36) a per-sample GEMM would be 36 columns wide, too thin to run well. B is chosen so a
// chunk has about kChunkColumns columns, which bounds the buffers to a few MB (kept per thread
// between calls, see Workspace). Chunks are independent, so they are what odenet's threads
// share (Note [One thread owner]); the weight gradient, a sum over chunks, keeps one partial
// sum per thread.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include <xsimd/xsimd.hpp>
#include <xtensor/xbuilder.hpp>

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
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
    // A padding near SIZE_MAX / 2 would wrap the padded extents around; the padded input and the
    // output are then sizes to check (see Note [Checked element counts] in core/src/tensor.cpp).
    if (opt.padding > (std::numeric_limits<std::size_t>::max() - std::max(x[2], x[3])) / 2) {
        throw ShapeError(op, "padding " + std::to_string(opt.padding) + " is too large for input " + shape_str(x));
    }
    const std::size_t hp = x[2] + 2 * opt.padding, wp = x[3] + 2 * opt.padding;
    if (w[2] == 0 || w[3] == 0 || hp < w[2] || wp < w[3]) {
        throw ShapeError(op, "kernel " + shape_str(w) + " does not fit input " + shape_str(x) + " with padding " +
                                 std::to_string(opt.padding));
    }
    const Geometry g{x[0], x[1], x[2], x[3], w[0], w[2], w[3], (hp - w[2]) / opt.stride + 1, (wp - w[3]) / opt.stride + 1,
                     opt.stride, opt.padding};
    numel({g.n, g.c, hp, wp}, op);
    numel(g.output(), op);
    return g;
}

// Output columns [lo, hi) of a row: a range of entries.
struct Span {
    std::size_t lo, hi;
};

// Note [Implicit im2col]
// The general path (any stride or padding; the ODE-Net's 4x4 stride-2 downsampling) never
// builds the column matrix. With the input copied once into a zero-bordered buffer xp of shape
// (N, C, Hp, Wp), Hp = H + 2·pad, the im2col matrix's entry for output pixel (n, oy, ox) and
// tap (c, i, j) is xp[pixel + tap], pixel = n·C·Hp·Wp + oy·s·Wp + ox·s and tap = c·Hp·Wp +
// i·Wp + j. So it is an IndexedMatrix (core/gemm.hpp) over xp with a row table and a column
// table, and the forward and the weight gradient run on indexed_gemm, which reads xp in place
// (the input gradient: Note [Input gradient by phases]). Building the columns cost 16 writes
// per input value for a 4x4 kernel and as many reads again in the GEMM: with them,
// bench_nn's 13x13 4x4 stride-2 step (forward and backward, 1 thread) took 1.50x the time of
// its three bare GEMMs, without them 1.15x.
template <class T>
struct ImplicitLayout {
    std::vector<std::ptrdiff_t> pixel;        // (n, q) -> corner of its window in xp
    std::vector<std::ptrdiff_t> tap;          // (c, i, j) -> offset in a sample of xp
    std::vector<std::ptrdiff_t> out_pixel;    // (n, q) -> n·O·P + q in an (N, O, P) tensor
    std::vector<std::ptrdiff_t> out_channel;  // o -> o·P
    std::vector<std::ptrdiff_t> weight_row;   // o -> o·K in the weight as an (O, K) matrix
    std::vector<std::ptrdiff_t> weight_col;   // (c, i, j) -> its index K
    std::size_t hp, wp;

    explicit ImplicitLayout(const Geometry& g) : hp(g.h + 2 * g.pad), wp(g.w + 2 * g.pad) {
        const std::size_t P = g.pixels(), K = g.rows(), sample = g.c * hp * wp;
        pixel.resize(g.n * P);
        out_pixel.resize(g.n * P);
        for (std::size_t n = 0; n < g.n; ++n)
            for (std::size_t oy = 0; oy < g.ho; ++oy)
                for (std::size_t ox = 0; ox < g.wo; ++ox) {
                    const std::size_t q = oy * g.wo + ox;
                    pixel[n * P + q] = std::ptrdiff_t(n * sample + oy * g.stride * wp + ox * g.stride);
                    out_pixel[n * P + q] = std::ptrdiff_t(n * g.o * P + q);
                }
        tap.resize(K);
        for (std::size_t c = 0; c < g.c; ++c)
            for (std::size_t i = 0; i < g.kh; ++i)
                for (std::size_t j = 0; j < g.kw; ++j) tap[(c * g.kh + i) * g.kw + j] = std::ptrdiff_t(c * hp * wp + i * wp + j);
        out_channel.resize(g.o);
        weight_row.resize(g.o);
        for (std::size_t o = 0; o < g.o; ++o) {
            out_channel[o] = std::ptrdiff_t(o * P);
            weight_row[o] = std::ptrdiff_t(o * K);
        }
        weight_col.resize(K);
        for (std::size_t k = 0; k < K; ++k) weight_col[k] = std::ptrdiff_t(k);
    }
    // The input as the (N·P, K) im2col matrix, rows from `first`; its transpose; an (N, O, P)
    // tensor as (N·P, O); the weight as (O, K) and as (K, O).
    IndexedMatrix<const T> columns(const T* xp, std::size_t first) const { return {xp, pixel.data() + first, tap.data()}; }
    IndexedMatrix<const T> columns_t(const T* xp, std::size_t first) const { return {xp, tap.data(), pixel.data() + first}; }
    template <class U>
    IndexedMatrix<U> pixels_by_channel(U* t, std::size_t first) const {
        return {t, out_pixel.data() + first, out_channel.data()};
    }
    IndexedMatrix<const T> weight(const T* w) const { return {w, weight_row.data(), weight_col.data()}; }
    IndexedMatrix<const T> weight_t(const T* w) const { return {w, weight_col.data(), weight_row.data()}; }
};

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

// A zero-bordered copy of x, (N, C, H + 2 pad, W + 2 pad), in a buffer of the calling thread
// kept between calls (tens of MB at the ODE-Net's 26x26 maps: fresh pages cost more than the
// copy). Without padding, x itself.
template <class T>
const T* padded_input(const T* x, const Geometry& g) {
    if (g.pad == 0) return x;
    const std::size_t hp = g.h + 2 * g.pad, wp = g.w + 2 * g.pad;
    thread_local std::vector<T> buffer;
    buffer.resize(g.n * g.c * hp * wp);
    bordered_copy(x, g.n * g.c, g.h, g.w, g.pad, g.pad, hp, wp, buffer.data());
    return buffer.data();
}

// y = bias + columns · wᵀ, images split between threads. With fewer taps than output channels
// (the ODE-Net's first layer: 9 taps, 64 channels) the product is short in k and writing y
// dominates, so it is computed transposed, yᵀ = w · columnsᵀ: the columns are gathered into
// indexed_gemm's panels, and each row of an output plane is written in vectors (bench_nn's
// BM_Conv2d_first_layer: 9.3 ms, as with im2col; the other way round, 13.7 ms).
template <class T>
void implicit_forward(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
    const ImplicitLayout<T> layout(g);
    const T* xp = padded_input(x, g);
    const std::size_t P = g.pixels(), K = g.rows();
    parallel_for(g.n, [&](std::size_t n0, std::size_t n1) {
        for (std::size_t n = n0; n < n1; ++n)
            for (std::size_t o = 0; o < g.o; ++o) std::fill_n(y + (n * g.o + o) * P, P, bias ? bias[o] : T(0));
        if (K >= g.o) {
            indexed_gemm((n1 - n0) * P, g.o, K, layout.columns(xp, n0 * P), layout.weight_t(w), T(1),
                         layout.pixels_by_channel(y, n0 * P));
            return;
        }
        for (std::size_t n = n0; n < n1; ++n) {  // per image, so that panels start at its first pixel
            indexed_gemm(g.o, P, K, layout.weight(w), layout.columns_t(xp, n * P), T(1),
                         IndexedMatrix<T>{y, layout.out_channel.data(), layout.out_pixel.data() + n * P});
        }
    });
}

// Note [Input gradient by phases]
// col2im adds every product entry into dx, and the windows of neighbouring output pixels
// overlap, so it is a read-add-write per entry (16 per input value at 4x4 / stride 2) that
// cannot be vectorised. The gradient is computed instead as the transposed convolution written
// as a direct one, each entry of dx once. Input pixel (y, x) receives tap (i, j) of output
// pixel (oy, ox) when y + pad = oy·s + i, so only taps with i ≡ y + pad (mod s) reach it.
// Pixels with the same residues (a, b) of (y + pad, x + pad) mod s, a phase, share those taps,
// i = a + s·ty and j = b + s·tx, and read gy at (Y - ty, X - tx), Y = (y + pad) div s. Per
// phase, dx is an indexed product with a row per pixel, a column per input channel and a sum
// over (o, ty, tx): A reads a zero-bordered copy of gy, B the phase's taps of the weight. The
// border costs multiply-adds (17% more than col2im's product at 13x13 / 4x4 / stride 2).
struct Phase {
    std::size_t pixels = 0, taps = 0;  // per sample; taps counts (o, ty, tx)
    std::vector<std::ptrdiff_t> a_row, a_col, b_row, c_row;  // rows: all samples' pixels
};

template <class T>
void phase_input_grad(const T* gy, const T* w, const Geometry& g, T* dx) {
    const std::size_t s = g.stride, K = g.rows(), plane = g.h * g.w;
    // gy's copy: (N, O, hg, wg), gy at rows [ty_max, ty_max + ho) and columns [tx_max, ...).
    const std::size_t ty_max = (g.kh - 1) / s, tx_max = (g.kw - 1) / s;
    const std::size_t y_end = (g.h - 1 + g.pad) / s + 1, x_end = (g.w - 1 + g.pad) / s + 1;
    const std::size_t hg = ty_max + std::max(g.ho, y_end), wg = tx_max + std::max(g.wo, x_end);
    thread_local std::vector<T> buffer;
    buffer.resize(g.n * g.o * hg * wg);
    T* gp = buffer.data();
    bordered_copy(gy, g.n * g.o, g.ho, g.wo, ty_max, tx_max, hg, wg, gp);

    std::vector<Phase> phases;
    std::vector<std::ptrdiff_t> c_col(g.c), b_col(g.c);
    for (std::size_t c = 0; c < g.c; ++c) {
        c_col[c] = std::ptrdiff_t(c * plane);
        b_col[c] = std::ptrdiff_t(c * g.kh * g.kw);
    }
    for (std::size_t a = 0; a < s; ++a) {
        for (std::size_t b = 0; b < s; ++b) {
            Phase ph;
            std::vector<std::size_t> ys, xs;
            for (std::size_t y = 0; y < g.h; ++y)
                if ((y + g.pad) % s == a) ys.push_back(y);
            for (std::size_t x = 0; x < g.w; ++x)
                if ((x + g.pad) % s == b) xs.push_back(x);
            ph.pixels = ys.size() * xs.size();
            if (ph.pixels == 0) continue;
            const std::size_t nty = a < g.kh ? (g.kh - 1 - a) / s + 1 : 0, ntx = b < g.kw ? (g.kw - 1 - b) / s + 1 : 0;
            ph.taps = g.o * nty * ntx;
            for (std::size_t o = 0; o < g.o; ++o)
                for (std::size_t ty = 0; ty < nty; ++ty)
                    for (std::size_t tx = 0; tx < ntx; ++tx) {
                        ph.a_col.push_back(std::ptrdiff_t(o * hg * wg + (ty_max - ty) * wg + tx_max - tx));  // >= 0
                        ph.b_row.push_back(std::ptrdiff_t(o * K + (a + s * ty) * g.kw + b + s * tx));
                    }
            for (std::size_t n = 0; n < g.n; ++n)
                for (std::size_t y : ys)
                    for (std::size_t x : xs) {
                        const std::size_t Y = (y + g.pad) / s, X = (x + g.pad) / s;
                        ph.a_row.push_back(std::ptrdiff_t(n * g.o * hg * wg + Y * wg + X));
                        ph.c_row.push_back(std::ptrdiff_t(n * g.c * plane + y * g.w + x));
                    }
            phases.push_back(std::move(ph));
        }
    }
    parallel_for(g.n, [&](std::size_t n0, std::size_t n1) {
        for (const Phase& ph : phases) {
            const std::size_t first = n0 * ph.pixels;
            indexed_gemm((n1 - n0) * ph.pixels, g.c, ph.taps, IndexedMatrix<const T>{gp, ph.a_row.data() + first, ph.a_col.data()},
                         IndexedMatrix<const T>{w, ph.b_row.data(), b_col.data()}, T(0),
                         IndexedMatrix<T>{dx, ph.c_row.data() + first, c_col.data()});
        }
    });
}

// dw = gyᵀ · columns, as dwᵀ = columnsᵀ · gy when there are more taps than output channels
// (B, gathered into panels, is then gy: O values per pixel rather than K); one partial sum per
// thread over its images.
template <class T>
void implicit_weight_grad(const T* x, const T* gy, const Geometry& g, T* dw) {
    const ImplicitLayout<T> layout(g);
    const T* xp = padded_input(x, g);
    const std::size_t P = g.pixels(), K = g.rows();
    const std::size_t parts = std::clamp<std::size_t>(g.n, 1, in_parallel_region() ? 1 : num_threads());  // >= 1 (N = 0)
    std::vector<std::vector<T>> partial(parts - 1, std::vector<T>(g.o * K, T(0)));
    parallel_for(parts, [&](std::size_t first_part, std::size_t last_part) {
        for (std::size_t part = first_part; part < last_part; ++part) {
            const std::size_t n0 = g.n * part / parts, n1 = g.n * (part + 1) / parts;
            T* sum = part == 0 ? dw : partial[part - 1].data();
            if (K >= g.o) {
                indexed_gemm(K, g.o, (n1 - n0) * P, layout.columns_t(xp, n0 * P), layout.pixels_by_channel(gy, n0 * P),
                             T(1), IndexedMatrix<T>{sum, layout.weight_col.data(), layout.weight_row.data()});
            } else {  // dw = gyᵀ · columns: the panels gather K columns per pixel, not O channels
                indexed_gemm(g.o, K, (n1 - n0) * P,
                             IndexedMatrix<const T>{gy, layout.out_channel.data(), layout.out_pixel.data() + n0 * P},
                             layout.columns(xp, n0 * P), T(1), IndexedMatrix<T>{sum, layout.weight_row.data(), layout.weight_col.data()});
            }
        }
    });
    for (const auto& p : partial)
        for (std::size_t i = 0; i < p.size(); ++i) dw[i] += p[i];
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
    Workspace(const Geometry& g, std::size_t ld) : mask_ld(ld) {
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
void im2col_chunk(const T* x, std::size_t n0, std::size_t nb, const Geometry& g, Workspace<T>& ws, std::size_t ld) {
    to_chunk(x, n0, nb, g.c, g.h * g.w, ws.stage);
    im2col_same_width(ws.stage, g, ws.masks, ws.mask_ld, ws.cols, ld);
}

// dx of samples [n0, n0 + nb) = col2im of cols.
template <class T>
void col2im_chunk(Workspace<T>& ws, std::size_t ld, std::size_t n0, std::size_t nb, const Geometry& g, T* dx) {
    col2im_same_width(ws.cols, ld, g, ws.masks, ws.mask_ld, ws.stage);
    from_chunk(ws.stage, n0, nb, g.c, g.h * g.w, dx);
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
    if (!same_width(g)) {
        implicit_forward(x.data(), w.data(), bias, g, y.data());
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

// dx = col2im(wᵀ g), chunk by chunk (same-width path); otherwise by phases.
template <class T>
Tensor<T> conv_input_grad(const Tensor<T>& gy, const Tensor<T>& w, const Geometry& g) {
    if (!g.empty() && !same_width(g)) {
        Tensor<T> dx = Tensor<T>::from_shape(g.input());  // every entry written
        phase_input_grad(gy.data(), w.data(), g, dx.data());
        return dx;
    }
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

// dw = Σ_chunks g colsᵀ (same-width path); otherwise over the implicit columns.
template <class T>
Tensor<T> conv_weight_grad(const Tensor<T>& x, const Tensor<T>& gy, const Geometry& g) {
    Tensor<T> dw = xt::zeros<T>(g.weight());
    if (g.empty()) return dw;
    if (!same_width(g)) {
        implicit_weight_grad(x.data(), gy.data(), g, dw.data());
        return dw;
    }
    const std::size_t K = g.rows(), P = g.pixels();
    // One partial sum per thread (the first is dw itself), added up at the end.
    const std::size_t chunks = chunk_count(g);
    const std::size_t parts = std::clamp<std::size_t>(chunks, 1, in_parallel_region() ? 1 : num_threads());  // >= 1 (N = 0)
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
    // The shapes are kept apart so that each gradient unpacks only the value it reads.
    auto backward = [in_shape = x.shape(), w_shape = weight.shape(), x = SavedVar(x, 0), weight = SavedVar(weight, 1),
                     options, has_bias](const Var& gy, const BackwardContext& ctx) -> Grads {
        Grads r(has_bias ? 3 : 2);
        if (ctx.needs(0)) r[0] = conv2d_input_grad(gy, weight.unpack(ctx), in_shape, options);
        if (ctx.needs(1)) r[1] = conv2d_weight_grad(x.unpack(ctx), gy, w_shape, options);
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
                  [w_shape = weight.shape(), gy = SavedVar(gy, 0), weight = SavedVar(weight, 1), options](
                      const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d(gg, weight.unpack(ctx), Var(), options) : Var(),
                              ctx.needs(1) ? conv2d_weight_grad(gg, gy.unpack(ctx), w_shape, options) : Var()};
                  });
}

// ⟨gg, W(x, g)⟩ = ⟨B(x, gg), g⟩: d/dx = conv2d_input_grad(g, gg), d/dg = conv2d(x, gg).
Var conv2d_weight_grad(const Var& x, const Var& gy, const Shape& weight_shape, Conv2dOptions options) {
    const Geometry g = geometry(x.shape(), weight_shape, options, "conv2d_weight_grad");
    check_grad_shape(gy, g, "conv2d_weight_grad");
    Value dw = ops::map_values(x, gy, "conv2d_weight_grad",
                               [&](const auto& tx, const auto& tg) { return conv_weight_grad(tx, tg, g); });
    return record("conv2d_weight_grad", std::move(dw), {&x, &gy},
                  [in_shape = x.shape(), x = SavedVar(x, 0), gy = SavedVar(gy, 1), options](
                      const Var& gg, const BackwardContext& ctx) -> Grads {
                      return {ctx.needs(0) ? conv2d_input_grad(gy.unpack(ctx), gg, in_shape, options) : Var(),
                              ctx.needs(1) ? conv2d(x.unpack(ctx), gg, Var(), options) : Var()};
                  });
}

}  // namespace odenet
