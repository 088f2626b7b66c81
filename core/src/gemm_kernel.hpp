#pragma once
// The blocking shared by our GEMMs (small_gemm.cpp, indexed_gemm.cpp): an MR x NR block of C
// accumulated in registers over k, one broadcast of A times NV vectors of a packed panel of B
// per row (Goto & van de Geijn, "Anatomy of high-performance matrix multiplication", ACM TOMS
// 2008), and k blocks sized for L2. Internal to core/src.
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

// One row of an accumulator block into NR adjacent entries of C at cr: cr = acc + beta cr
// (beta = 0 does not read C, which may hold NaN).
template <class T>
inline void store_row(const typename Blocking<T>::Batch (&acc)[Blocking<T>::nv], T* cr, T beta) {
    using Batch = typename Blocking<T>::Batch;
    constexpr std::size_t L = Blocking<T>::lanes;
    for (std::size_t v = 0; v < Blocking<T>::nv; ++v) {
        Batch out = acc[v];
        if (beta != T(0)) out = xsimd::fma(Batch(beta), Batch::load_unaligned(cr + v * L), out);
        out.store_unaligned(cr + v * L);
    }
}

}  // namespace odenet::gemm_kernel
