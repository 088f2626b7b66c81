#pragma once
// Matrix exponential for the small dense matrices of the tests: scaling and squaring of a
// Taylor series (Moler & Van Loan 2003, "Nineteen dubious ways", method 3). Accurate to
// ~1e-14 relative for the norms used here.
#include <cmath>

#include "odenet/core/tensor.hpp"

namespace odenet::testing {

inline Tensor<double> matmul_small(const Tensor<double>& a, const Tensor<double>& b) {
    const std::size_t n = a.shape()[0], k = a.shape()[1], m = b.shape()[1];
    Tensor<double> c = Tensor<double>(Shape{n, m}, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t p = 0; p < k; ++p)
            for (std::size_t j = 0; j < m; ++j) c(i, j) += a(i, p) * b(p, j);
    return c;
}

inline Tensor<double> expm(const Tensor<double>& a) {
    const std::size_t n = a.shape()[0];
    double norm = 0;
    for (double x : a) norm = std::max(norm, std::abs(x));
    int squarings = std::max(0, int(std::ceil(std::log2(norm * double(n) + 1e-300))) + 4);
    Tensor<double> x = a / std::ldexp(1.0, squarings);
    Tensor<double> result = Tensor<double>(Shape{n, n}, 0.0), term = Tensor<double>(Shape{n, n}, 0.0);
    for (std::size_t i = 0; i < n; ++i) result(i, i) = term(i, i) = 1.0;
    for (int k = 1; k <= 20; ++k) {
        term = matmul_small(term, x) / double(k);
        result += term;
    }
    for (int s = 0; s < squarings; ++s) result = matmul_small(result, result);
    return result;
}

}  // namespace odenet::testing
