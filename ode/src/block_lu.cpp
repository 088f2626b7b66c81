#include "odenet/ode/detail/block_lu.hpp"

#include <type_traits>

#include <xtensor-blas/xlinalg.hpp>  // brings the cxxblas macros xlapack.hpp needs

namespace odenet::ode::detail {

static_assert(std::is_same_v<xt::blas_index_t, int>, "BlockLU stores pivots as int");

bool BlockLU::factor(const double* matrices, std::size_t blocks, std::size_t m) {
    if (m == 0) {  // an empty state: nothing to factorise (LAPACK would reject a zero dimension)
        blocks_ = m_ = 0;
        return true;
    }
    if (blocks != blocks_ || m != m_) {
        blocks_ = blocks;
        m_ = m;
        lu_.assign(blocks, Tensor<double>());
        piv_.assign(blocks, std::vector<int>(m));
    }
    for (std::size_t b = 0; b < blocks; ++b) {
        // A row-major block is its transpose in column-major order: LAPACK factorises Aᵀ, and
        // solve() asks it for the transposed solve to get A⁻¹.
        xt::xtensor<double, 2, xt::layout_type::column_major> a = xt::zeros<double>({m, m});
        std::copy(matrices + b * m * m, matrices + (b + 1) * m * m, a.data());
        xt::uvector<xt::blas_index_t> piv(m);
        const int info = xt::lapack::getrf(a, piv);
        if (info != 0) return false;
        lu_[b] = Tensor<double>(std::vector<std::size_t>{m * m});
        std::copy(a.data(), a.data() + m * m, lu_[b].data());
        std::copy(piv.begin(), piv.end(), piv_[b].begin());
    }
    return true;
}

void BlockLU::solve(double* x, bool transposed) {
    const auto m = static_cast<xt::blas_index_t>(m_);
    for (std::size_t b = 0; b < blocks_; ++b)
        cxxlapack::getrs<xt::blas_index_t>(transposed ? 'N' : 'T', m, 1, lu_[b].data(), m, piv_[b].data(), x + b * m_, m);
}

}  // namespace odenet::ode::detail
