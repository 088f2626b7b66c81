#pragma once
// The one matrix product every op calls: C = op(A) op(B) + beta C, row-major, with leading
// dimensions. Each product runs on our own register-blocked kernel or on OpenBLAS, whichever
// bench_gemm measured faster for its shape with the OpenBLAS kernels this process loaded (Note
// [Which GEMM kernel] in core/src/gemm.cpp); large products are split by rows of C over
// odenet's thread pool either way.
#include <cstddef>

namespace odenet {

/// The kernels a product can run on. automatic is the rule of Note [Which GEMM kernel]; the
/// others force one (tests, benchmarks).
enum class GemmKernel { automatic, odenet, openblas };

/// The kernel gemm(automatic, ...) uses for one call of the kernel on a block of rows x n x k
/// entries of type T (element_size = sizeof(T)) with the OpenBLAS this process loaded: never
/// automatic.
GemmKernel gemm_kernel_for(std::size_t rows, std::size_t n, std::size_t k, std::size_t element_size);

/// True when the loaded OpenBLAS runs AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids),
/// with which bench_gemm measured it faster than ours on several kinds of product; false with
/// OPENBLAS_CORETYPE=Haswell, where it wins only wide, shallow float products.
bool blas_has_avx512_kernels();

/// C (m x n, leading dimension ldc) = op(A) op(B) + beta C, where op(A) is m x k and op(B) is
/// k x n; ta / tb transpose A / B. With beta = 0, C is not read (it may hold anything).
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// The same product on the given kernel, split over the pool as gemm splits it.
void gemm(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a,
          std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// One call of OpenBLAS on the calling thread, which it runs single-threaded: odenet's pool owns
/// the threads (Note [One thread owner]), so the first call sets openblas_set_num_threads(1).
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
               const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
               const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// One call of our kernel on the calling thread.
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void small_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc);

/// A matrix read or written through offset tables: element (i, j) is at base[row[i] + col[j]].
/// A convolution's im2col matrix is one over the input, with a row per output pixel and a column
/// per (channel, tap), so it can be multiplied without being built (Note [Implicit im2col]).
template <class T>
struct IndexedMatrix {
    T* base;
    const std::ptrdiff_t* row;
    const std::ptrdiff_t* col;
};

/// C (m x n) = A (m x k) B (k x n) + beta C over indexed matrices, on the calling thread (callers
/// split the rows of C). B is packed, A read in place; C is written a row of a panel at a time in
/// vectors when the panel's columns are adjacent in memory, entry by entry otherwise. With
/// beta = 1, entries of C may share an address: each update is its own read-add-write, in order,
/// so C accumulates them (a scatter-add, as col2im does); with beta = 0 they must be distinct.
/// C must not overlap A or B.
void indexed_gemm(std::size_t m, std::size_t n, std::size_t k, IndexedMatrix<const float> a,
                  IndexedMatrix<const float> b, float beta, IndexedMatrix<float> c);
void indexed_gemm(std::size_t m, std::size_t n, std::size_t k, IndexedMatrix<const double> a,
                  IndexedMatrix<const double> b, double beta, IndexedMatrix<double> c);

}  // namespace odenet
