// Our register-blocked GEMM, written for the small products of FFJORD-sized networks (a batch
// of 100 by 64 hidden units) and used wherever it beats OpenBLAS (Note [Which GEMM kernel]). After Goto & van de Geijn, "Anatomy of high-performance matrix
// multiplication" (ACM TOMS 2008): op(B) is cut into column panels NR wide (packed when its rows
// are not contiguous), and each
// MR x NR block of C is accumulated in registers over the whole k loop, one broadcast of A
// times NV vectors of B per row. Unlike a full BLAS, A is read in place (no packing) and only k
// is blocked (so that a packed panel stays in L2); that is enough up to the ODE-Net's sizes.
#include <algorithm>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "gemm_kernel.hpp"
#include "odenet/core/gemm.hpp"

namespace odenet {

namespace {

using gemm_kernel::AlignedBuffer;
using gemm_kernel::Blocking;
using gemm_kernel::kc_block;
using gemm_kernel::store_row;

// The strides of one operand: element (i, j) is at i * row + j * col.
struct Strides {
    std::size_t row, col;
};

// C[0..MR, 0..cols) = A-rows x panel + beta C, with A(r, kk) = a[r * sa.row + kk * sa.col] and
// row kk of the panel at panel + kk * pld.
template <class T, std::size_t MR>
void micro_kernel(std::size_t k, const T* a, Strides sa, const T* panel, std::size_t pld, T* c, Strides sc,
                  std::size_t cols, T beta) {
    using Batch = typename Blocking<T>::Batch;
    constexpr std::size_t NV = Blocking<T>::nv, L = Blocking<T>::lanes, NR = Blocking<T>::nr;
    // The k loop is written out here rather than shared with indexed_gemm.cpp's: through a
    // shared inline function with accessor lambdas it ran 5-15% slower (bench_gemm).
    Batch acc[MR][NV];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = Batch(T(0));
    for (std::size_t kk = 0; kk < k; ++kk) {
        const T* bp = panel + kk * pld;
        Batch b[NV];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) b[v] = Batch::load_unaligned(bp + v * L);
        const T* ap = a + kk * sa.col;
#pragma GCC unroll 8
        for (std::size_t r = 0; r < MR; ++r) {
            const Batch ar(ap[r * sa.row]);
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(ar, b[v], acc[r][v]);
        }
    }
    if (cols == NR && sc.col == 1) {
        for (std::size_t r = 0; r < MR; ++r) store_row<T>(acc[r], c + r * sc.row, beta);
        return;
    }
    // A partial panel, or C written transposed (column stride > 1): through a tile, walking C
    // along its rows (r innermost is contiguous when C is transposed).
    alignas(64) T tile[MR][NR];
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_aligned(tile[r] + v * L);
    for (std::size_t j = 0; j < cols; ++j) {
        T* cj = c + j * sc.col;
        // beta = 0 must not read C, which may hold NaN.
        if (beta == T(0)) {
            for (std::size_t r = 0; r < MR; ++r) cj[r * sc.row] = tile[r][j];
        } else {
            for (std::size_t r = 0; r < MR; ++r) cj[r * sc.row] = tile[r][j] + beta * cj[r * sc.row];
        }
    }
}

template <class T, std::size_t MR>
void rows_tail(std::size_t rows, std::size_t k, const T* a, Strides sa, const T* panel, std::size_t pld, T* c,
               Strides sc, std::size_t cols, T beta) {
    if constexpr (MR > 0) {
        if (rows == MR) return micro_kernel<T, MR>(k, a, sa, panel, pld, c, sc, cols, beta);
        rows_tail<T, MR - 1>(rows, k, a, sa, panel, pld, c, sc, cols, beta);
    }
}

// op(B) (k x n, element (kk, j) at b[kk * sb.row + j * sb.col]) into ceil(n / NR) panels of
// k rows by NR columns, zero-padded on the right.
template <class T>
const T* pack_b(std::size_t n, std::size_t k, const T* b, Strides sb) {
    constexpr std::size_t NR = Blocking<T>::nr;
    thread_local AlignedBuffer<T> buffer;
    const std::size_t panels = (n + NR - 1) / NR;
    buffer.resize(panels * k * NR);
    T* out = buffer.data();
    for (std::size_t p = 0; p < panels; ++p, out += k * NR) {
        const std::size_t j0 = p * NR, cols = std::min(NR, n - j0);
        if (sb.row == 1 && sb.col != 1) {
            // A transposed B: its columns are contiguous. Read them in order and write the
            // panel with stride NR (it stays in cache); reading across rows ldb apart instead
            // touched a new cache line, often a new page, per element.
            for (std::size_t j = 0; j < cols; ++j) {
                const T* column = b + (j0 + j) * sb.col;
                for (std::size_t kk = 0; kk < k; ++kk) out[kk * NR + j] = column[kk];
            }
            for (std::size_t kk = 0; kk < k; ++kk) std::fill(out + kk * NR + cols, out + (kk + 1) * NR, T(0));
            continue;
        }
        for (std::size_t kk = 0; kk < k; ++kk) {
            const T* row = b + kk * sb.row + j0 * sb.col;
            T* dst = out + kk * NR;
            if (sb.col == 1) {
                std::copy(row, row + cols, dst);
            } else {
                for (std::size_t j = 0; j < cols; ++j) dst[j] = row[j * sb.col];
            }
            std::fill(dst + cols, dst + NR, T(0));
        }
    }
    return buffer.data();
}

// C = op(A) op(B) + beta C with all operands given by strides. When op(B)'s rows are contiguous
// and short (at most 2 NR apart, as in the 64-wide layers of FFJORD's networks) its full panels
// are read in place: a panel is then NR columns of B, rows ldb apart, close to the packed
// layout, and only a partial last panel is packed. A transposed or wide B is packed whole
// (bench_gemm: in place was 15% slower on the large MLP's 1024-wide rows).
template <class T>
void product(std::size_t m, std::size_t n, std::size_t k, const T* a, Strides sa, const T* b, Strides sb, T beta, T* c,
             Strides sc) {
    constexpr std::size_t MR = Blocking<T>::mr, NR = Blocking<T>::nr, KC = kc_block<T>();
    const bool in_place = sb.col == 1 && sb.row <= 2 * NR;
    const std::size_t first_packed = in_place ? n / NR * NR : 0;  // columns from here on are packed
    for (std::size_t k0 = 0; k0 == 0 || k0 < k; k0 += KC) {
        const std::size_t kb = std::min(KC, k - k0);
        const T beta_block = k0 == 0 ? beta : T(1);  // later k blocks add to the first
        const T* b_block = b + k0 * sb.row;
        const T* packed = first_packed < n ? pack_b(n - first_packed, kb, b_block + first_packed * sb.col, sb) : nullptr;
        const T* a_block = a + k0 * sa.col;
        for (std::size_t j0 = 0; j0 < n; j0 += NR) {
            const std::size_t cols = std::min(NR, n - j0);
            const bool direct = j0 < first_packed;
            const T* panel = direct ? b_block + j0 : packed + (j0 - first_packed) / NR * kb * NR;
            const std::size_t pld = direct ? sb.row : NR;
            T* c_panel = c + j0 * sc.col;
            std::size_t i = 0;
            for (; i + MR <= m; i += MR) {
                micro_kernel<T, MR>(kb, a_block + i * sa.row, sa, panel, pld, c_panel + i * sc.row, sc, cols, beta_block);
            }
            if (i < m) {
                rows_tail<T, MR - 1>(m - i, kb, a_block + i * sa.row, sa, panel, pld, c_panel + i * sc.row, sc, cols,
                                     beta_block);
            }
        }
    }
}

// C (m x n, n <= kNarrow) = A B + beta C with A's rows contiguous: n dot products per row of A,
// vectorised along k. For a layer with 2 outputs (FFJORD's last layer) this avoids the
// transposed product, which would pack all of A to use 2 of a panel's lanes.
constexpr std::size_t kNarrow = 4;

template <class T>
void narrow_product(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b, Strides sb,
                    T beta, T* c, std::size_t ldc) {
    using Batch = xsimd::batch<T>;
    constexpr std::size_t L = Batch::size;
    thread_local AlignedBuffer<T> columns;  // op(B)'s n columns, each contiguous
    columns.resize(n * k);
    for (std::size_t j = 0; j < n; ++j)
        for (std::size_t kk = 0; kk < k; ++kk) columns[j * k + kk] = b[kk * sb.row + j * sb.col];
    const std::size_t kv = k / L * L;
    for (std::size_t i = 0; i < m; ++i) {
        const T* row = a + i * lda;
        Batch acc[kNarrow];
        for (std::size_t j = 0; j < n; ++j) acc[j] = Batch(T(0));
        for (std::size_t kk = 0; kk < kv; kk += L) {
            const Batch x = Batch::load_unaligned(row + kk);
            for (std::size_t j = 0; j < n; ++j) acc[j] = xsimd::fma(x, Batch::load_unaligned(&columns[j * k] + kk), acc[j]);
        }
        for (std::size_t j = 0; j < n; ++j) {
            T sum = xsimd::hadd(acc[j]);
            for (std::size_t kk = kv; kk < k; ++kk) sum += row[kk] * columns[j * k + kk];
            c[i * ldc + j] = beta == T(0) ? sum : sum + beta * c[i * ldc + j];  // beta = 0: C is not read
        }
    }
}

template <class T>
void small_gemm_impl(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda,
                     const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    const Strides sa = ta ? Strides{1, lda} : Strides{lda, 1};
    const Strides sb = tb ? Strides{1, ldb} : Strides{ldb, 1};
    if (n <= kNarrow && !ta && k >= Blocking<T>::lanes) return narrow_product(m, n, k, a, lda, b, sb, beta, c, ldc);
    // C^T = op(B)^T op(A)^T swaps the roles: then op(A) is packed and op(B) read in place, and
    // C is written through a strided tile. That pays when C is narrow (a layer with 2 outputs
    // would waste most of a zero-padded panel) and when op(B) is much wider than op(A) (a
    // convolution's column matrix against its weights: packing costs k x n).
    if ((n < Blocking<T>::nr / 2 && m > n) || (n >= 2 * m && m >= Blocking<T>::nr / 2)) {
        return product(n, m, k, b, Strides{sb.col, sb.row}, a, Strides{sa.col, sa.row}, beta, c, Strides{1, ldc});
    }
    product(m, n, k, a, sa, b, sb, beta, c, Strides{ldc, 1});
}

}  // namespace

void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    small_gemm_impl(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    small_gemm_impl(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace odenet
