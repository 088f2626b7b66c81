// odenet::gemm and its two back ends against a plain triple loop, over shapes that hit every
// edge of the register blocking (partial row blocks, partial and narrow panels, several k
// blocks), all four transpose cases, leading dimensions wider than the matrix, and beta.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <array>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "odenet/core/blas_info.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

namespace {

template <class T>
struct Case {
    bool ta, tb;
    std::size_t m, n, k;
    T beta;
};

// C = op(A) op(B) + beta C in long double, the reference.
template <class T>
std::vector<T> reference(const Case<T>& c, const std::vector<T>& a, std::size_t lda, const std::vector<T>& b,
                         std::size_t ldb, const std::vector<T>& c0, std::size_t ldc) {
    std::vector<T> out = c0;
    for (std::size_t i = 0; i < c.m; ++i) {
        for (std::size_t j = 0; j < c.n; ++j) {
            long double s = 0;
            for (std::size_t p = 0; p < c.k; ++p) {
                const T x = c.ta ? a[p * lda + i] : a[i * lda + p];
                const T y = c.tb ? b[j * ldb + p] : b[p * ldb + j];
                s += static_cast<long double>(x) * y;
            }
            const long double prior = c.beta == T(0) ? 0.0L : static_cast<long double>(c.beta) * c0[i * ldc + j];
            out[i * ldc + j] = static_cast<T>(s + prior);
        }
    }
    return out;
}

template <class T, class F>
void check(F gemm, const Case<T>& c, std::mt19937& rng) {
    std::uniform_real_distribution<T> u(-1, 1);
    const std::size_t pad = 3;  // leading dimensions wider than the rows
    const std::size_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
    const std::size_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
    const std::size_t lda = a_cols + pad, ldb = b_cols + pad, ldc = c.n + pad;
    std::vector<T> a(a_rows * lda), b(b_rows * ldb), c0(c.m * ldc);
    for (auto& x : a) x = u(rng);
    for (auto& x : b) x = u(rng);
    // With beta = 0, C must not be read: NaN there would leak into the result.
    for (auto& x : c0) x = c.beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : u(rng);
    const std::vector<T> want = reference(c, a, lda, b, ldb, c0, ldc);
    std::vector<T> got = c0;
    gemm(c.ta, c.tb, c.m, c.n, c.k, a.data(), lda, b.data(), ldb, c.beta, got.data(), ldc);
    const double tol = (std::is_same_v<T, float> ? 2e-6 : 1e-14) * double(c.k + 1);
    for (std::size_t i = 0; i < c.m; ++i) {
        for (std::size_t j = 0; j < c.n; ++j) {
            INFO("m=" << c.m << " n=" << c.n << " k=" << c.k << " ta=" << c.ta << " tb=" << c.tb << " beta=" << c.beta
                      << " at (" << i << ", " << j << ")");
            REQUIRE(std::abs(double(got[i * ldc + j]) - double(want[i * ldc + j])) <= tol);
        }
    }
    // The padding between rows is never written.
    for (std::size_t i = 0; i < c.m; ++i)
        for (std::size_t j = c.n; j < ldc; ++j) {
            const T before = c0[i * ldc + j], after = got[i * ldc + j];
            CHECK(((std::isnan(before) && std::isnan(after)) || before == after));
        }
}

template <class T, class F>
void sweep(F gemm) {
    std::mt19937 rng(7);
    const std::size_t ms[] = {1, 5, 6, 7, 13, 100};
    const std::size_t ns[] = {1, 2, 15, 16, 17, 64, 65, 130};
    const std::size_t ks[] = {0, 1, 3, 64, 600};  // 600 crosses a k block (512) of both dtypes
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (std::size_t m : ms)
                for (std::size_t n : ns)
                    for (std::size_t k : ks)
                        for (T beta : {T(0), T(1), T(-0.5)}) check<T>(gemm, Case<T>{ta, tb, m, n, k, beta}, rng);
    // C much wider than tall (a convolution's products): computed as a transpose.
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (T beta : {T(0), T(0.5)}) {
                check<T>(gemm, Case<T>{ta, tb, 40, 100, 70, beta}, rng);
                check<T>(gemm, Case<T>{ta, tb, 33, 201, 600, beta}, rng);
            }
}

template <class T>
void small(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
           std::size_t ldb, T beta, T* c, std::size_t ldc) {
    odenet::small_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
template <class T>
void dispatched(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
                std::size_t ldb, T beta, T* c, std::size_t ldc) {
    odenet::gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
template <class T, odenet::GemmKernel kernel>
void forced(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
            std::size_t ldb, T beta, T* c, std::size_t ldc) {
    odenet::gemm(kernel, ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
template <class T>
void blas(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
          std::size_t ldb, T beta, T* c, std::size_t ldc) {
    odenet::blas_gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

// The strided product as indexed matrices: tables row[i] = i · stride_i, col[j] = j · stride_j.
std::vector<std::ptrdiff_t> strided_table(std::size_t n, std::size_t stride) {
    std::vector<std::ptrdiff_t> t(n);
    for (std::size_t i = 0; i < n; ++i) t[i] = std::ptrdiff_t(i * stride);
    return t;
}
template <class T>
void indexed(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t lda, const T* b,
             std::size_t ldb, T beta, T* c, std::size_t ldc) {
    const auto a_row = strided_table(m, ta ? 1 : lda), a_col = strided_table(k, ta ? lda : 1);
    const auto b_row = strided_table(k, tb ? 1 : ldb), b_col = strided_table(n, tb ? ldb : 1);
    const auto c_row = strided_table(m, ldc), c_col = strided_table(n, 1);
    odenet::indexed_gemm(m, n, k, {a, a_row.data(), a_col.data()}, {b, b_row.data(), b_col.data()}, beta,
                         {c, c_row.data(), c_col.data()});
}

}  // namespace

TEST_CASE("indexed_gemm with strided tables matches a triple loop (float64 and float32)") {
    sweep<double>(indexed<double>);
    sweep<float>(indexed<float>);
}

// col2im's shape: entries of C overlap, as a stride-2 window's do, so with beta = 1 several
// products land on one address and must all be added. C(i, j) at c[i + 2 j] (scalar updates)
// and at c[2 i + j] (runs of 4 adjacent columns, updated as one vector, overlapping row to row).
TEST_CASE("indexed_gemm with beta = 1 adds entries of C that share an address") {
    std::mt19937 rng(11);
    std::uniform_real_distribution<double> u(-1, 1);
    const std::size_t m = 13, n = 70, k = 3000;  // partial row blocks, two panels, several k blocks on any ISA
    for (const auto& [row_stride, col_stride] : {std::pair<std::size_t, std::size_t>{1, 2}, {2, 1}}) {
        std::vector<double> a(m * k), b(k * n), c(row_stride * m + col_stride * n);
        for (auto& x : a) x = u(rng);
        for (auto& x : b) x = u(rng);
        for (auto& x : c) x = u(rng);
        std::vector<long double> want(c.begin(), c.end());
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                long double s = 0;
                for (std::size_t p = 0; p < k; ++p) s += static_cast<long double>(a[i * k + p]) * b[p * n + j];
                want[row_stride * i + col_stride * j] += s;
            }
        const auto a_row = strided_table(m, k), a_col = strided_table(k, 1), b_row = strided_table(k, n),
                   b_col = strided_table(n, 1), c_row = strided_table(m, row_stride),
                   c_col = strided_table(n, col_stride);
        odenet::indexed_gemm(m, n, k, {a.data(), a_row.data(), a_col.data()}, {b.data(), b_row.data(), b_col.data()},
                             1.0, {c.data(), c_row.data(), c_col.data()});
        for (std::size_t i = 0; i < c.size(); ++i) {
            INFO("C(i, j) at " << row_stride << " i + " << col_stride << " j: entry " << i);
            CHECK(double(want[i]) == doctest::Approx(c[i]).epsilon(1e-12));
        }
    }
}

TEST_CASE("small_gemm matches a triple loop (float64)") { sweep<double>(small<double>); }
TEST_CASE("small_gemm matches a triple loop (float32)") { sweep<float>(small<float>); }
TEST_CASE("gemm dispatch matches a triple loop") {
    sweep<double>(dispatched<double>);
    std::mt19937 rng(3);
    // Large enough for OpenBLAS when it runs several threads.
    check<float>(dispatched<float>, Case<float>{false, true, 300, 200, 100, 0.0f}, rng);
}
// Products large enough to be split over two threads, with each block on OpenBLAS, on ours, and
// on whatever the rule picks: the blocks' offsets into A and C are right for every transpose.
TEST_CASE("gemm split over the pool matches a triple loop on either kernel") {
    const int threads = odenet::num_threads();
    odenet::set_num_threads(2);
    std::mt19937 rng(9);
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (double beta : {0.0, 0.5}) {
                const Case<double> big{ta, tb, 301, 260, 270, beta};
                check<double>(forced<double, odenet::GemmKernel::openblas>, big, rng);
                check<double>(forced<double, odenet::GemmKernel::odenet>, big, rng);
                check<double>(forced<double, odenet::GemmKernel::automatic>, big, rng);
                check<float>(forced<float, odenet::GemmKernel::openblas>, Case<float>{ta, tb, 301, 260, 270, float(beta)},
                             rng);
            }
    odenet::set_num_threads(threads);
}

// The rule of Note [Which GEMM kernel], region by region, for the OpenBLAS kernels loaded here
// (these machines pin the AVX2 ones; bench_gemm shows the rule's choice against both kernels).
TEST_CASE("the automatic kernel follows the measured regions") {
    const std::string core = odenet::blas_info().core;
    const bool avx512 = core == "SkylakeX" || core == "Cooperlake" || core == "SapphireRapids";
    INFO("OpenBLAS core: " << core);
    CHECK(odenet::blas_has_avx512_kernels() == avx512);
    using odenet::GemmKernel;
    const auto pick = [](bool blas) { return blas ? GemmKernel::openblas : GemmKernel::odenet; };
    // The FFJORD and ODE-Net shapes: ours with either OpenBLAS.
    for (std::size_t size : {4, 8})
        for (auto [m, n, k] : {std::array<std::size_t, 3>{100, 64, 64}, {512, 64, 64}, {64, 504, 576}, {576, 504, 64}})
            CHECK(odenet::gemm_kernel_for(m, n, k, size) == GemmKernel::odenet);
    // Wide and shallow float products: OpenBLAS's with either.
    CHECK(odenet::gemm_kernel_for(64, 1024, 64, 4) == GemmKernel::openblas);
    CHECK(odenet::gemm_kernel_for(64, 1024, 65, 4) == pick(avx512));
    CHECK(odenet::gemm_kernel_for(64, 1024, 64, 8) == pick(avx512));
    // Thin products and wide ones: OpenBLAS's only with its AVX-512 kernels.
    CHECK(odenet::gemm_kernel_for(100, 64, 2, 4) == pick(avx512));
    CHECK(odenet::gemm_kernel_for(100, 2, 64, 8) == pick(avx512));
    CHECK(odenet::gemm_kernel_for(256, 1024, 784, 4) == pick(avx512));
    CHECK(odenet::gemm_kernel_for(256, 1024, 64, 8) == pick(avx512));
    CHECK(odenet::gemm_kernel_for(256, 1024, 65, 8) == GemmKernel::odenet);
    CHECK(odenet::gemm_kernel_for(512, 1023, 784, 4) == GemmKernel::odenet);
}

// odenet's pool owns the threads: a block that runs on OpenBLAS runs it on one thread.
TEST_CASE("OpenBLAS runs single-threaded once odenet has called it") {
    std::vector<double> a(64 * 64, 1.0), c(64 * 64);
    odenet::blas_gemm(false, false, 64, 64, 64, a.data(), 64, a.data(), 64, 0.0, c.data(), 64);
    CHECK(c[0] == 64.0);
    CHECK(odenet::blas_info().threads == 1);
}

TEST_CASE("blas_gemm matches a triple loop") {
    std::mt19937 rng(5);
    check<double>(blas<double>, Case<double>{true, false, 7, 65, 64, 0.5}, rng);
    // Every edge case the other kernels meet, k = 0 and NaN in C with beta = 0 among them.
    sweep<double>(blas<double>);
    sweep<float>(blas<float>);
}
