// Note [Which GEMM kernel]
// Every product runs on one of two kernels: ours (small_gemm.cpp), which reads A in place and
// packs B only when its rows are strided, or OpenBLAS's, which packs both. Which is faster
// depends on the kernels OpenBLAS chose at load time. bench_gemm timed both, one call per block
// of odenet's split, on the examples' shapes (all four transpose cases) and on a grid of
// untransposed products, m in {64, 128, 256, 512}, n in {64, 256, 512, 1024}, k in {64, 256,
// 784}; OpenBLAS 0.3.21 on a Zen 5 core, 1 and 2 threads, two runs (docs/PERFORMANCE.md, "Matrix
// products", has the tables). Ratios are OpenBLAS's time over ours, one thread, both runs:
// - OPENBLAS_CORETYPE=Haswell, which these machines set: OpenBLAS runs its AVX2 kernels, and ours
//   (AVX-512) is faster on every shape (1.02-6.8) but one kind: float products 1024 or more
//   columns wide over k <= 64 (0.68-0.72; 0.66-0.74 at 2 threads).
// - Unset, as on a user's machine: OpenBLAS picks its AVX-512 kernels (Cooperlake here). It is
//   clearly faster on float products 1024 or more columns wide (0.38-0.98, except two ties at 64
//   rows over k = 784: 1.02 and 1.15), on double ones over k <= 64 (0.81-0.95), and on products
//   with at most 4 columns or an inner dimension of at most 4, a network's first or last layer on
//   2-D data (0.30-0.52: its fixed cost per call is lower than our panel setup). Ours is clearly
//   faster on 64-column products over k >= 256 (1.16-1.64), on double products up to 256 columns
//   over k >= 256 (1.09-1.64) and on the ODE-Net's convolution shapes (1.01-1.38). Elsewhere the
//   two are mostly within 15% of each other either way, the spread between two runs of one shape
//   on this virtual machine; there the rule keeps ours, whose results do not depend on which
//   kernels OpenBLAS loads on a given machine. The rule's worst miss: 2 x 64 x 100 (A) in float,
//   a 2-D flow's first-layer weight gradient, 0.60-0.84 (0.4 µs).
// Part of OpenBLAS's lead on wide, shallow products is a weakness of ours, not a strength of its:
// small_gemm takes C^T = B^T A^T when C is much wider than tall, and then reads B in place down
// its columns; with B's rows a multiple of 4 KB apart (1024 or 2048 floats) those reads fall into
// one L1 set. A scratch build that keeps the untransposed path for such strides ran 128 x 1024 x
// 64 in 98 µs instead of 210 µs, ahead of both OpenBLAS kernels (to do: land it with a re-run of
// bench_gemm, which will move this rule).
// gemm_kernel_for encodes exactly the regions where OpenBLAS is clearly faster; the blocks of a
// product split over threads are judged by their own shape. The convolutions' products on an
// implicit im2col matrix (indexed_gemm.cpp) are ours in any case: OpenBLAS cannot read one.
// Either kernel runs once per block of rows of C on odenet's pool (Note [One thread owner]),
// OpenBLAS single-threaded.
#include "odenet/core/gemm.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <string>

#include <cblas.h>

#include "odenet/core/parallel.hpp"

namespace odenet {

namespace {

// Multiply-adds per thread below which splitting a product costs more than it saves.
constexpr std::size_t kWorkPerThread = std::size_t{1} << 21;

// The regions of Note [Which GEMM kernel] where OpenBLAS wins.
constexpr std::size_t kWide = 1024;   // columns of C
constexpr std::size_t kShallow = 64;  // inner dimension
constexpr std::size_t kThin = 4;      // columns of C or inner dimension

void keep_blas_single_threaded() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

template <class T>
void one_call(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a,
              std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (kernel == GemmKernel::automatic) kernel = gemm_kernel_for(m, n, k, sizeof(T));
    if (kernel == GemmKernel::openblas)
        blas_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    else
        small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

template <class T>
void split_gemm(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a,
                std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    const std::size_t row_work = std::max<std::size_t>(1, n * k);
    if (m * row_work < 2 * kWorkPerThread || in_parallel_region() || num_threads() == 1) {
        return one_call(kernel, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    }
    parallel_for(
        m,
        [&](std::size_t r0, std::size_t r1) {
            one_call(kernel, ta, tb, r1 - r0, n, k, ta ? a + r0 : a + r0 * lda, lda, b, ldb, beta, c + r0 * ldc, ldc);
        },
        kWorkPerThread / row_work + 1);
}

bool core_has_avx512_kernels() {
    std::string core = openblas_get_corename();
    std::transform(core.begin(), core.end(), core.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
    for (const char* name : {"skylakex", "cooperlake", "sapphirerapids"})
        if (core == name) return true;
    return false;
}

}  // namespace

bool blas_has_avx512_kernels() {
    static const bool avx512 = core_has_avx512_kernels();  // OpenBLAS picks its kernels once, at load
    return avx512;
}

GemmKernel gemm_kernel_for(std::size_t rows, std::size_t n, std::size_t k, std::size_t element_size) {
    (void)rows;  // measured: no region depends on it
    const bool single = element_size == sizeof(float);
    const bool wide = n >= kWide, shallow = k <= kShallow;
    if (!blas_has_avx512_kernels()) return single && wide && shallow ? GemmKernel::openblas : GemmKernel::odenet;
    if (n <= kThin || k <= kThin) return GemmKernel::openblas;
    if (wide && (single || shallow)) return GemmKernel::openblas;
    return GemmKernel::odenet;
}

void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
               const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    // OpenBLAS rejects a leading dimension of 0 (an empty operand) with a message and computes
    // nothing; ours handles empty products (C = beta C).
    if (m == 0 || n == 0 || k == 0) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    keep_blas_single_threaded();
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                1.0f, a, int(lda), b, int(ldb), beta, c, int(ldc));
}
void blas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
               const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    // OpenBLAS rejects a leading dimension of 0 (an empty operand) with a message and computes
    // nothing; ours handles empty products (C = beta C).
    if (m == 0 || n == 0 || k == 0) return small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
    keep_blas_single_threaded();
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(m), int(n), int(k),
                1.0, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

void gemm(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a,
          std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    split_gemm(kernel, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void gemm(GemmKernel kernel, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    split_gemm(kernel, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
    split_gemm(GemmKernel::automatic, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
          const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
    split_gemm(GemmKernel::automatic, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace odenet
