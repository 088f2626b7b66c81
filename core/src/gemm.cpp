// Note [Small GEMMs]
// A training step of FFJORD's toy model or of a small MLP is a chain of products like
// (100 x 64) @ (64 x 64): 0.4 MFLOP each, a few microseconds of arithmetic. OpenBLAS spends a
// fixed cost per call on top (argument checks, packing both operands into its buffers, thread
// dispatch) and, on this machine, runs its AVX2 ("Haswell") kernels because the environment
// pins OPENBLAS_CORETYPE=Haswell. Our kernel (small_gemm.cpp) packs only B, uses the widest
// vectors the compiler targets (AVX-512 here), and bench_gemm measures it against OpenBLAS at
// the shapes the examples use: about 2x OpenBLAS's single-threaded rate at every one of them,
// from 100 x 64 x 64 to the ODE-Net's convolutions. With OpenBLAS running more than one
// thread, large products (above kParallelWork multiply-adds) go to OpenBLAS, which splits
// them over its threads; our kernel is single-threaded, so that threads keep one owner.
#include "odenet/core/gemm.hpp"

#include <cblas.h>

namespace odenet {

namespace {

// Multiply-adds above which a multi-threaded OpenBLAS gets the product (bench/bench_gemm.cpp).
constexpr std::size_t kParallelWork = std::size_t{1} << 22;

bool is_small(std::size_t m, std::size_t n, std::size_t k) {
    return m * n * k <= kParallelWork || openblas_get_num_threads() == 1;
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
    if (is_small(m, n, k)) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    blas_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    if (is_small(m, n, k)) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    blas_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace odenet
