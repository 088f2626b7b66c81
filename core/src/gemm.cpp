// Note [Small GEMMs]
// A training step of FFJORD's toy model or of a small MLP is a chain of products like
// (100 x 64) @ (64 x 64): 0.4 MFLOP each, a few microseconds of arithmetic. OpenBLAS spends a
// fixed cost per call on top (argument checks, packing both operands into its buffers) and, on
// this machine, runs its AVX2 ("Haswell") kernels because the environment pins
// OPENBLAS_CORETYPE=Haswell (and Debian's 0.3.21 does not know Zen 4/5 anyway). Our kernel
// (small_gemm.cpp) packs only one operand and uses the widest vectors the compiler targets
// (AVX-512 here). bench_gemm measures it against OpenBLAS at the shapes the examples use: about
// 2x OpenBLAS's single-threaded rate at every one, from 100 x 64 x 64 to the large MLP's and the
// ODE-Net's convolutions. So every product runs on it; large ones are split by rows of C over
// odenet's thread pool (Note [One thread owner]).
#include "odenet/core/gemm.hpp"

#include <algorithm>

#include <cblas.h>

#include "odenet/core/parallel.hpp"

namespace odenet {

namespace {

// Multiply-adds per thread below which splitting a product costs more than it saves.
constexpr std::size_t kWorkPerThread = std::size_t{1} << 21;

template <class T>
void split_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                std::size_t ldb, T beta, T* c, std::size_t ldc) {
    const std::size_t row_work = std::max<std::size_t>(1, n * k);
    if (m * row_work < 2 * kWorkPerThread || in_parallel_region() || num_threads() == 1) {
        return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    }
    parallel_for(
        m,
        [&](std::size_t r0, std::size_t r1) {
            small_gemm(ta, tb, r1 - r0, n, k, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
        },
        kWorkPerThread / row_work + 1);
}

}  // namespace

void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
               const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
               const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    split_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    split_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace odenet
