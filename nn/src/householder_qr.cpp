#include "householder_qr.hpp"

#include <cmath>

namespace odenet::nn::detail {

// Golub & Van Loan (2013), Matrix Computations, 4th ed., section 5.2 (Householder QR). Column
// k's reflection H_k = I - 2 v vᵀ / (vᵀv) maps A[k:, k] to (alpha, 0, ..., 0). Q = H_0 ... H_{n-1}
// applied to the first n columns of the identity, last reflection first: columns j < k are still
// e_j then, untouched by H_k, so each reflection updates only columns k..n-1.
ThinQR householder_qr(std::vector<double> a, std::size_t m, std::size_t n) {
    auto at = [&](std::vector<double>& x, std::size_t i, std::size_t j) -> double& { return x[i * n + j]; };
    std::vector<std::vector<double>> vs(n);  // v_k, over rows k..m-1
    std::vector<double> vv(n, 0.0);          // v_kᵀ v_k
    ThinQR out{std::vector<double>(m * n, 0.0), std::vector<double>(n, 0.0)};
    for (std::size_t k = 0; k < n; ++k) {
        double norm2 = 0.0;
        for (std::size_t i = k; i < m; ++i) norm2 += at(a, i, k) * at(a, i, k);
        if (norm2 == 0.0) continue;
        const double x0 = at(a, k, k);
        // alpha of the opposite sign to x0, so that v0 = x0 - alpha does not cancel.
        const double alpha = x0 >= 0.0 ? -std::sqrt(norm2) : std::sqrt(norm2);
        std::vector<double>& v = vs[k];
        v.resize(m - k);
        for (std::size_t i = k; i < m; ++i) v[i - k] = at(a, i, k);
        v[0] -= alpha;
        for (double x : v) vv[k] += x * x;
        for (std::size_t j = k; j < n; ++j) {
            double s = 0.0;
            for (std::size_t i = k; i < m; ++i) s += v[i - k] * at(a, i, j);
            const double f = 2.0 * s / vv[k];
            for (std::size_t i = k; i < m; ++i) at(a, i, j) -= f * v[i - k];
        }
        out.r_diag[k] = alpha;
    }
    for (std::size_t j = 0; j < n; ++j) at(out.q, j, j) = 1.0;
    for (std::size_t k = n; k-- > 0;) {
        if (vs[k].empty()) continue;
        const std::vector<double>& v = vs[k];
        for (std::size_t j = k; j < n; ++j) {
            double s = 0.0;
            for (std::size_t i = k; i < m; ++i) s += v[i - k] * at(out.q, i, j);
            const double f = 2.0 * s / vv[k];
            for (std::size_t i = k; i < m; ++i) at(out.q, i, j) -= f * v[i - k];
        }
    }
    return out;
}

}  // namespace odenet::nn::detail
