#pragma once
// Thin QR factorisation by Householder reflections, in double, for orthogonal_ (init.cpp).
// Private to nn/src: a plain kernel on row-major arrays, knowing nothing of Var.
#include <cstddef>
#include <vector>

namespace odenet::nn::detail {

struct ThinQR {
    std::vector<double> q;       ///< m x n, row-major, orthonormal columns
    std::vector<double> r_diag;  ///< the n diagonal entries of R, in the sign the reflections give
};

/// A = Q R for a row-major m x n matrix `a` with m >= n. A zero column below the diagonal
/// (rank deficiency) gets no reflection and R's diagonal entry 0 there.
ThinQR householder_qr(std::vector<double> a, std::size_t m, std::size_t n);

}  // namespace odenet::nn::detail
