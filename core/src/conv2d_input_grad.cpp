// The input gradient of the implicit convolution path (conv2d_implicit.cpp): the transposed
// convolution computed phase by phase as a direct one, on odenet::indexed_gemm.
#include <algorithm>
#include <vector>

#include "conv2d_paths.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

namespace odenet::conv2d_detail {

namespace {

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

// gy's zero-bordered copy: (N, O, hg, wg), gy at rows [ty_max, ty_max + ho) and columns
// [tx_max, tx_max + wo).
struct BorderedGrad {
    std::size_t ty_max, tx_max, hg, wg;
    explicit BorderedGrad(const Conv2dGeometry& g)
        : ty_max((g.kh - 1) / g.stride), tx_max((g.kw - 1) / g.stride) {
        const std::size_t y_end = (g.h - 1 + g.pad) / g.stride + 1, x_end = (g.w - 1 + g.pad) / g.stride + 1;
        hg = ty_max + std::max(g.ho, y_end);
        wg = tx_max + std::max(g.wo, x_end);
    }
};

// The offset tables of phase (a, b); pixels == 0 when no input pixel has those residues.
Phase make_phase(const Conv2dGeometry& g, const BorderedGrad& bg, std::size_t a, std::size_t b) {
    const std::size_t s = g.stride, K = g.rows(), plane = g.h * g.w;
    Phase ph;
    std::vector<std::size_t> ys, xs;
    for (std::size_t y = 0; y < g.h; ++y)
        if ((y + g.pad) % s == a) ys.push_back(y);
    for (std::size_t x = 0; x < g.w; ++x)
        if ((x + g.pad) % s == b) xs.push_back(x);
    ph.pixels = ys.size() * xs.size();
    if (ph.pixels == 0) return ph;
    const std::size_t nty = a < g.kh ? (g.kh - 1 - a) / s + 1 : 0, ntx = b < g.kw ? (g.kw - 1 - b) / s + 1 : 0;
    ph.taps = g.o * nty * ntx;
    for (std::size_t o = 0; o < g.o; ++o)
        for (std::size_t ty = 0; ty < nty; ++ty)
            for (std::size_t tx = 0; tx < ntx; ++tx) {
                ph.a_col.push_back(std::ptrdiff_t(o * bg.hg * bg.wg + (bg.ty_max - ty) * bg.wg + bg.tx_max - tx));  // >= 0
                ph.b_row.push_back(std::ptrdiff_t(o * K + (a + s * ty) * g.kw + b + s * tx));
            }
    for (std::size_t n = 0; n < g.n; ++n)
        for (std::size_t y : ys)
            for (std::size_t x : xs) {
                const std::size_t Y = (y + g.pad) / s, X = (x + g.pad) / s;
                ph.a_row.push_back(std::ptrdiff_t(n * g.o * bg.hg * bg.wg + Y * bg.wg + X));
                ph.c_row.push_back(std::ptrdiff_t(n * g.c * plane + y * g.w + x));
            }
    return ph;
}

}  // namespace

template <class T>
void phase_input_grad(const T* gy, const T* w, const Conv2dGeometry& g, T* dx) {
    const BorderedGrad bg(g);
    thread_local std::vector<T> buffer;
    buffer.resize(g.n * g.o * bg.hg * bg.wg);
    T* gp = buffer.data();
    bordered_copy(gy, g.n * g.o, g.ho, g.wo, bg.ty_max, bg.tx_max, bg.hg, bg.wg, gp);

    std::vector<Phase> phases;
    for (std::size_t a = 0; a < g.stride; ++a)
        for (std::size_t b = 0; b < g.stride; ++b) {
            Phase ph = make_phase(g, bg, a, b);
            if (ph.pixels > 0) phases.push_back(std::move(ph));
        }
    std::vector<std::ptrdiff_t> c_col(g.c), b_col(g.c);
    for (std::size_t c = 0; c < g.c; ++c) {
        c_col[c] = std::ptrdiff_t(c * g.h * g.w);
        b_col[c] = std::ptrdiff_t(c * g.kh * g.kw);
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

template void phase_input_grad(const float*, const float*, const Conv2dGeometry&, float*);
template void phase_input_grad(const double*, const double*, const Conv2dGeometry&, double*);

}  // namespace odenet::conv2d_detail
