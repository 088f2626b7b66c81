#pragma once
// Batched tridiagonal linear systems, solved by the Thomas algorithm (Gaussian elimination
// without pivoting, specialised to three diagonals: Golub and Van Loan, "Matrix Computations",
// 4th ed., 2013, section 4.3.6; Burden and Faires, "Numerical Analysis", Algorithm 6.7). Without
// pivoting it is stable for diagonally dominant matrices (Golub and Van Loan, Theorem 4.3.2 ff.),
// which is what the natural cubic spline's system is (interpolation.hpp); a zero pivot is
// reported rather than divided by.
//
// The matrices are constants (float64, they come from the times); the right-hand sides are Vars
// of float32 or float64. The solve is linear in the right-hand side, so its backward is one more
// solve, with the transposed matrices: r̄ = A⁻ᵀ x̄. That backward calls tridiagonal_solve itself,
// so it is recorded under create_graph and every order of derivative exists.
#include <cstddef>
#include <memory>

#include "odenet/autodiff/var.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::nn {

/// S independent n×n tridiagonal matrices, row s of each tensor being matrix s:
/// A_s[i][i-1] = lower(s, i) (lower(s, 0) is not read), A_s[i][i] = diag(s, i),
/// A_s[i][i+1] = upper(s, i) (upper(s, n-1) is not read). All three are (S, n) float64.
struct TridiagonalSystem {
    Tensor<double> lower, diag, upper;

    std::size_t batch() const { return diag.shape()[0]; }
    std::size_t size() const { return diag.shape()[1]; }
    /// The transposed matrices (lower and upper exchanged, shifted by one row).
    TridiagonalSystem transposed() const;
};

/// Solves A_s x_s = r_s in place on one matrix of the batch: r holds n entries on entry and the
/// solution on return. ValueError naming tridiagonal_solve, the matrix s and the row when a pivot
/// is zero or not finite.
template <class T>
void thomas_solve(const TridiagonalSystem& system, std::size_t s, T* r);

/// x (S, n) with A_s x[s] = r[s], differentiable in r to every order (the backward is a solve
/// with the transposed system). r must be float32 or float64 of shape (S, n) = the system's
/// (ShapeError naming both shapes otherwise). ValueError for a zero pivot (see thomas_solve).
Var tridiagonal_solve(std::shared_ptr<const TridiagonalSystem> system, const Var& r);

}  // namespace odenet::nn
