#pragma once
// LU factorisations of block-diagonal matrices through LAPACK (getrf/getrs via xtensor-blas),
// one block at a time: a batch of independent systems costs blocks × m³, not (blocks m)³.
#include <cstddef>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::ode::detail {

class BlockLU {
public:
    /// Factorises `blocks` row-major m × m matrices stored one after another. Returns false
    /// when one is singular (an exact zero pivot).
    bool factor(const double* matrices, std::size_t blocks, std::size_t m);
    /// x ← A⁻¹ x, block by block (transposed: x ← A⁻ᵀ x).
    void solve(double* x, bool transposed = false);

private:
    std::size_t blocks_ = 0, m_ = 0;
    std::vector<Tensor<double>> lu_;  // per block, column-major as LAPACK wants
    std::vector<std::vector<int>> piv_;  // LAPACK's index type (static_assert in the .cpp)
};

}  // namespace odenet::ode::detail
