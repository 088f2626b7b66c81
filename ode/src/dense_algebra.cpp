// The default linear algebra of the implicit steps: J as dense blocks, supplied or by forward
// differences, W = I − hγJ factorised per block (block_lu.hpp).
#include <algorithm>
#include <cmath>
#include <limits>

#include "odenet/ode/detail/block_lu.hpp"
#include "odenet/ode/detail/integrator.hpp"
#include "odenet/ode/detail/stiff.hpp"

namespace odenet::ode::detail {

namespace {

class DenseAlgebra final : public LinearAlgebra {
public:
    DenseAlgebra(const FlatRhs& f, std::size_t n, const Options& o, double f_eps)
        : f_(f), f_eps_(f_eps), atol_(o.atol), rtol_(o.rtol), n_(n), blocks_(o.jacobian_blocks), m_(n / o.jacobian_blocks), user_(o.jacobian),
          J_(blocks_ * m_ * m_), W_(J_.size()) {
        if (n % blocks_ != 0)
            throw ValueError("solve options", "jacobian_blocks " + std::to_string(blocks_) +
                                                  " does not divide the state's " + std::to_string(n) + " entries");
    }

    std::size_t jacobian(double t, const double* y, const double* f0) override {
        if (user_) {
            user_(t, std::span<const double>(y, n_), std::span<double>(J_));
            for (std::size_t i = 0; i < J_.size(); ++i)
                if (!std::isfinite(J_[i]))
                    throw SolverError("solve", t, 0.0,
                                      "non-finite value " + num(J_[i]) + " in the supplied Jacobian at block " +
                                          std::to_string(i / (m_ * m_)) + ", row " + std::to_string(i / m_ % m_) +
                                          ", column " + std::to_string(i % m_));
            return 0;
        }
        // Column j of every block at once: the blocks do not interact, so perturbing entry j of
        // each moves only its own block's outputs (Curtis, Powell & Reid 1974).
        // δ_i = √eps max(|y_i|, atol/rtol), SciPy's num_jac threshold: relative to y_i, and for
        // a component near 0 relative to the size below which the tolerance is absolute.
        // Hairer's RADAU5 floor √eps · 3e-3 fits components of order 1: Robertson's y2 ≈ 1e-13
        // late on was perturbed 500-fold, its column came out wrong and rodas4 fell to second
        // order (11638 steps to t = 1e11, now 449). A floor of atol alone is too small where f
        // cancels large terms: y2 = 0 of a linear system with entries of 1e6 got a column of noise.
        const double sqrt_eps = std::sqrt(f_eps_);
        const double floor = atol_ > 0.0 ? atol_ / std::max(rtol_, f_eps_) : 1e-5;
        std::vector<double> yp(y, y + n_), fp(n_), delta(n_), base;
        std::size_t evaluations = m_;
        if (!f0) {
            base.resize(n_);
            f_(t, y, base.data());
            f0 = base.data();
            ++evaluations;
        }
        for (std::size_t j = 0; j < m_; ++j) {
            for (std::size_t b = 0; b < blocks_; ++b) {
                const std::size_t i = b * m_ + j;
                delta[i] = sqrt_eps * std::max(std::abs(y[i]), floor);
                yp[i] = y[i] + delta[i];
                delta[i] = yp[i] - y[i];  // the step as represented
            }
            f_(t, yp.data(), fp.data());
            for (std::size_t b = 0; b < blocks_; ++b) {
                const std::size_t col = b * m_ + j;
                for (std::size_t r = 0; r < m_; ++r) {
                    const std::size_t row = b * m_ + r;
                    J_[(b * m_ + r) * m_ + j] = (fp[row] - f0[row]) / delta[col];
                }
                yp[col] = y[col];
            }
        }
        return evaluations;
    }

    bool factor(double hgamma) override {
        for (std::size_t b = 0; b < blocks_; ++b)
            for (std::size_t r = 0; r < m_; ++r)
                for (std::size_t c = 0; c < m_; ++c) {
                    const std::size_t k = (b * m_ + r) * m_ + c;
                    W_[k] = (r == c ? 1.0 : 0.0) - hgamma * J_[k];
                }
        return lu_.factor(W_.data(), blocks_, m_);
    }

    void solve(double* x) override { lu_.solve(x); }

    double spectral_bound() const override {
        double bound = 0.0;
        for (std::size_t row = 0; row < blocks_ * m_; ++row) {
            double sum = 0.0;
            for (std::size_t c = 0; c < m_; ++c) sum += std::abs(J_[row * m_ + c]);
            bound = std::max(bound, sum);
        }
        return bound;
    }

private:
    const FlatRhs& f_;
    double f_eps_, atol_, rtol_;
    std::size_t n_, blocks_, m_;
    JacobianFn user_;
    std::vector<double> J_, W_;
    BlockLU lu_;
};

}  // namespace

std::unique_ptr<LinearAlgebra> dense_algebra(const FlatRhs& f, std::size_t n, const Options& options, double f_eps) {
    return std::make_unique<DenseAlgebra>(f, n, options, f_eps);
}

}  // namespace odenet::ode::detail
