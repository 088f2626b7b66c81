// The implicit-im2col convolution path: odenet::indexed_gemm over a zero-bordered copy of the
// input, for every convolution that is not same-width (Note [Convolution layout] in
// conv2d_same.cpp). Its input gradient is in conv2d_input_grad.cpp.
#include <algorithm>
#include <vector>

#include "conv2d_paths.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

namespace odenet::conv2d_detail {

namespace {

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

    explicit ImplicitLayout(const Conv2dGeometry& g) : hp(g.h + 2 * g.pad), wp(g.w + 2 * g.pad) {
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

// A zero-bordered copy of x, (N, C, H + 2 pad, W + 2 pad), in a buffer of the calling thread
// kept between calls (tens of MB at the ODE-Net's 26x26 maps: fresh pages cost more than the
// copy). Without padding, x itself.
template <class T>
const T* padded_input(const T* x, const Conv2dGeometry& g) {
    if (g.pad == 0) return x;
    const std::size_t hp = g.h + 2 * g.pad, wp = g.w + 2 * g.pad;
    thread_local std::vector<T> buffer;
    buffer.resize(g.n * g.c * hp * wp);
    bordered_copy(x, g.n * g.c, g.h, g.w, g.pad, g.pad, hp, wp, buffer.data());
    return buffer.data();
}

}  // namespace

// y = bias + columns · wᵀ, images split between threads. With fewer taps than output channels
// (the ODE-Net's first layer: 9 taps, 64 channels) the product is short in k and writing y
// dominates, so it is computed transposed, yᵀ = w · columnsᵀ: the columns are gathered into
// indexed_gemm's panels, and each row of an output plane is written in vectors (bench_nn's
// BM_Conv2d_first_layer: 9.3 ms, as with im2col; the other way round, 13.7 ms).
template <class T>
void implicit_forward(const T* x, const T* w, const T* bias, const Conv2dGeometry& g, T* y) {
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

// dw = gyᵀ · columns, as dwᵀ = columnsᵀ · gy when there are more taps than output channels
// (B, gathered into panels, is then gy: O values per pixel rather than K); one partial sum per
// thread over its images.
template <class T>
void implicit_weight_grad(const T* x, const T* gy, const Conv2dGeometry& g, T* dw) {
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

template void implicit_forward(const float*, const float*, const float*, const Conv2dGeometry&, float*);
template void implicit_forward(const double*, const double*, const double*, const Conv2dGeometry&, double*);
template void implicit_weight_grad(const float*, const float*, const Conv2dGeometry&, float*);
template void implicit_weight_grad(const double*, const double*, const Conv2dGeometry&, double*);

}  // namespace odenet::conv2d_detail
