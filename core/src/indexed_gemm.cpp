// indexed_gemm: the product of matrices given by offset tables (gemm.hpp), on the blocking of
// gemm_kernel.hpp. B is gathered one panel at a time (NR columns by KC rows, which stays in L2,
// as in small_gemm.cpp), and every MR-row block of A, read in place through its tables, is
// multiplied by it before the next panel is gathered.
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

// Rows [k0, k0 + kb) x columns [j0, j0 + cols) of B into a kb x NR panel, zero-padded on the
// right. (Reading B column by column when its rows are adjacent in memory was slower: the
// NR columns of a row mostly share a few cache lines already.)
template <class T>
void pack_panel(std::size_t k0, std::size_t kb, std::size_t j0, std::size_t cols, IndexedMatrix<const T> b, T* out) {
    constexpr std::size_t NR = Blocking<T>::nr;
    const std::ptrdiff_t* col = b.col + j0;
    for (std::size_t kk = 0; kk < kb; ++kk) {
        const T* row = b.base + b.row[k0 + kk];
        T* dst = out + kk * NR;
        for (std::size_t j = 0; j < cols; ++j) dst[j] = row[col[j]];
        std::fill(dst + cols, dst + NR, T(0));
    }
}

// Rows [0, MR) x columns [0, cols) of C (+)= A-rows x panel, everything through the tables
// (already offset to this block).
template <class T, std::size_t MR>
void indexed_block(std::size_t k, IndexedMatrix<const T> a, const T* panel, IndexedMatrix<T> c, std::size_t cols,
                   bool c_cols_adjacent, T beta) {
    using Batch = typename Blocking<T>::Batch;
    constexpr std::size_t NV = Blocking<T>::nv, L = Blocking<T>::lanes, NR = Blocking<T>::nr;
    std::ptrdiff_t a_rows[MR], c_rows[MR];
    std::copy_n(a.row, MR, a_rows);
    std::copy_n(c.row, MR, c_rows);
    // The k loop of small_gemm.cpp's micro_kernel, with A's offsets from the tables.
    Batch acc[MR][NV];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = Batch(T(0));
    for (std::size_t kk = 0; kk < k; ++kk) {
        const T* bp = panel + kk * NR;
        Batch b[NV];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) b[v] = Batch::load_aligned(bp + v * L);
        const T* ap = a.base + a.col[kk];
#pragma GCC unroll 8
        for (std::size_t r = 0; r < MR; ++r) {
            const Batch ar(ap[a_rows[r]]);
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(ar, b[v], acc[r][v]);
        }
    }
    if (c_cols_adjacent && cols == NR) {
        // A full panel whose columns of C are adjacent in memory (a product whose columns are
        // output pixels): row by row in vectors. Adjacent columns never share an address.
        for (std::size_t r = 0; r < MR; ++r) store_row<T>(acc[r], c.base + c_rows[r] + c.col[0], beta);
        return;
    }
    alignas(64) T tile[MR][NR];
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < NV; ++v) acc[r][v].store_aligned(tile[r] + v * L);
    // One entry at a time, in order: entries that share an address accumulate (beta = 1). (Four
    // adjacent columns as one vector was 30% slower on a convolution's input gradient: quads of
    // neighbouring rows overlap, and a load overlapping two pending stores waits for both.)
    for (std::size_t j = 0; j < cols; ++j) {
        T* cj = c.base + c.col[j];
        if (beta == T(0)) {  // C is not read: it may hold anything
            for (std::size_t r = 0; r < MR; ++r) cj[c_rows[r]] = tile[r][j];
        } else {
            for (std::size_t r = 0; r < MR; ++r) cj[c_rows[r]] = tile[r][j] + beta * cj[c_rows[r]];
        }
    }
}

template <class T, std::size_t MR>
void indexed_tail(std::size_t rows, std::size_t k, IndexedMatrix<const T> a, const T* panel, IndexedMatrix<T> c,
                  std::size_t cols, bool c_cols_adjacent, T beta) {
    if constexpr (MR > 0) {
        if (rows == MR) return indexed_block<T, MR>(k, a, panel, c, cols, c_cols_adjacent, beta);
        indexed_tail<T, MR - 1>(rows, k, a, panel, c, cols, c_cols_adjacent, beta);
    }
}

template <class T>
void indexed_product(std::size_t m, std::size_t n, std::size_t k, IndexedMatrix<const T> a, IndexedMatrix<const T> b,
                     T beta, IndexedMatrix<T> c) {
    constexpr std::size_t MR = Blocking<T>::mr, NR = Blocking<T>::nr, KC = kc_block<T>();
    if (m == 0 || n == 0) return;
    if (k == 0) {  // an empty sum: C = beta C
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                T& e = c.base[c.row[i] + c.col[j]];
                e = beta == T(0) ? T(0) : beta * e;
            }
        return;
    }
    thread_local AlignedBuffer<T> packed;
    packed.resize(std::min(KC, k) * NR);
    for (std::size_t k0 = 0; k0 < k; k0 += KC) {
        const std::size_t kb = std::min(KC, k - k0);
        const T beta_block = k0 == 0 ? beta : T(1);  // later k blocks add to the first
        const IndexedMatrix<const T> a_block{a.base, a.row, a.col + k0};
        // Panel by panel (kb x NR, in L2), each met by every row block of A.
        for (std::size_t j0 = 0; j0 < n; j0 += NR) {
            const std::size_t cols = std::min(NR, n - j0);
            pack_panel(k0, kb, j0, cols, b, packed.data());
            bool adjacent = true;
            for (std::size_t j = 1; j < cols && adjacent; ++j) adjacent = c.col[j0 + j] == c.col[j0] + std::ptrdiff_t(j);
            for (std::size_t i = 0; i < m; i += MR) {
                const std::size_t rows = std::min(MR, m - i);
                const IndexedMatrix<const T> a_rows{a_block.base, a_block.row + i, a_block.col};
                const IndexedMatrix<T> c_block{c.base, c.row + i, c.col + j0};
                if (rows == MR) {
                    indexed_block<T, MR>(kb, a_rows, packed.data(), c_block, cols, adjacent, beta_block);
                } else {
                    indexed_tail<T, MR - 1>(rows, kb, a_rows, packed.data(), c_block, cols, adjacent, beta_block);
                }
            }
        }
    }
}

}  // namespace

void indexed_gemm(std::size_t m, std::size_t n, std::size_t k, IndexedMatrix<const float> a,
                  IndexedMatrix<const float> b, float beta, IndexedMatrix<float> c) {
    indexed_product(m, n, k, a, b, beta, c);
}
void indexed_gemm(std::size_t m, std::size_t n, std::size_t k, IndexedMatrix<const double> a,
                  IndexedMatrix<const double> b, double beta, IndexedMatrix<double> c) {
    indexed_product(m, n, k, a, b, beta, c);
}

}  // namespace odenet
