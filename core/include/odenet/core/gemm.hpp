#pragma once
// The one matrix product every op calls: C = op(A) op(B) + beta C, row-major, with leading
// dimensions. Small products run on our own register-blocked kernel, large ones on OpenBLAS;
// see Note [Small GEMMs] in core/src/gemm.cpp for why and where the line is.
#include <cstddef>

namespace odenet {

/// C (m x n, leading dimension ldc) = op(A) op(B) + beta C, where op(A) is m x k and op(B) is
/// k x n; ta / tb transpose A / B. With beta = 0, C is not read (it may hold anything).
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// The same product always through OpenBLAS (benchmark baselines; large products).
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
               const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
               const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// The same product always through our small-matrix kernel (tests and benchmarks).
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

}  // namespace odenet
