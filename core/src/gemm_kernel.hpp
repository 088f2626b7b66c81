#pragma once
// The register block shared by our GEMMs (small_gemm.cpp, indexed_gemm.cpp): an MR x NR block
// of C accumulated in registers over k, one broadcast of A times NV vectors of a packed panel
// of B per row (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", ACM
// TOMS 2008). Internal to core/src: it is a template over the SIMD width, which only these two
// files should compile.
#include <cstddef>
#include <vector>

#include <xsimd/xsimd.hpp>

namespace odenet::gemm_kernel {

template <class T>
struct Blocking {
    using Batch = xsimd::batch<T>;
    static constexpr std::size_t lanes = Batch::size;
#if defined(__AVX512F__)
    static constexpr std::size_t mr = 6, nv = 4;  // 24 accumulators + 4 of B + 1 broadcast: 29 of 32 registers
#else
    static constexpr std::size_t mr = 4, nv = 3;  // 12 + 3 + 1: all 16 registers of AVX2 / SSE
#endif
    static constexpr std::size_t nr = nv * lanes;
};

template <class T>
using AlignedBuffer = std::vector<T, xsimd::aligned_allocator<T, 64>>;

// Rows of k per pass: one packed panel (kc x NR, 128 KB) stays in L2 (1 MB on Zen 4/5) while
// every row block reads it. bench_gemm: 96 KB was 20% slower on the convolutions' products,
// 256 KB 40% slower on the large MLP's (its rows of A then no longer fit beside the panel).
template <class T>
constexpr std::size_t kc_block() {
    return (std::size_t{128} << 10) / (Blocking<T>::nr * sizeof(T));
}

// acc[r][v] = Σ_kk A(r, kk) · (lanes v·L .. (v+1)·L of panel row kk), r < MR, where
// A(r, kk) = a[row_at(r) + col_at(kk)] and panel row kk starts at panel + kk · pld. row_at and
// col_at are inlined: for a strided A they are multiplications, for a gathered A table reads.
template <class T, std::size_t MR, class RowAt, class ColAt>
inline void accumulate(std::size_t k, const T* a, RowAt row_at, ColAt col_at, const T* panel, std::size_t pld,
                       typename Blocking<T>::Batch (&acc)[MR][Blocking<T>::nv]) {
    using Batch = typename Blocking<T>::Batch;
    constexpr std::size_t NV = Blocking<T>::nv, L = Blocking<T>::lanes;
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = Batch(T(0));
    for (std::size_t kk = 0; kk < k; ++kk) {
        const T* bp = panel + kk * pld;
        Batch b[NV];
#pragma GCC unroll 8
        for (std::size_t v = 0; v < NV; ++v) b[v] = Batch::load_unaligned(bp + v * L);
        const T* ap = a + col_at(kk);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < MR; ++r) {
            const Batch ar(ap[row_at(r)]);
#pragma GCC unroll 8
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(ar, b[v], acc[r][v]);
        }
    }
}

}  // namespace odenet::gemm_kernel
