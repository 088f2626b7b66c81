// The steps of the stiff solver (stiff_solver.hpp): Rosenbrock, ESDIRK with simplified Newton
// iterations, and the explicit steps of a stiff_switch solve with their stiffness ratio; and
// each step's interpolant.
#include "stiff_solver.hpp"

namespace odenet::ode::detail {

// One Rosenbrock step in the W-form of implicit.hpp: J at (t, y) (kept after a rejection, as
// y has not moved), W factorised for this h, one solve per stage.
bool StiffSolver::rosenbrock_step(double t, double h) {
    const RosenbrockTableau& tab = rosenbrock_tableau(method_);
    const int s = tab.stages();
    ensure_jacobian(t);
    if (!factor(h * tab.gamma)) return false;
    stages_.resize(s, std::vector<double>(n_));
    std::vector<double>& ys = tmp_;
    for (int i = 0; i < s; ++i) {
        std::vector<double>& u = stages_[i];
        if (i == 0) {
            u = f0_;
        } else {
            for (std::size_t q = 0; q < n_; ++q) {
                double v = y_[q];
                for (int j = 0; j < i; ++j) v += tab.a[i][j] * stages_[j][q];
                ys[q] = v;
            }
            eval(t + tab.c[i] * h, ys.data(), u.data());
            if (tab.fsal && i == s - 1) {
                y1_ = ys;
                f1_ = u;
            }
        }
        for (std::size_t q = 0; q < n_; ++q) {
            double v = u[q];
            for (int j = 0; j < i; ++j) v += tab.C[i][j] / h * stages_[j][q];
            if (!opt_.autonomous) v += tab.gamma_sum[i] * h * ft_[q];
            u[q] = h * tab.gamma * v;
        }
        solve_linear(u.data());
    }
    if (!tab.fsal) {
        for (std::size_t q = 0; q < n_; ++q) {
            double v = y_[q];
            for (int j = 0; j < s; ++j) v += tab.m[j] * stages_[j][q];
            y1_[q] = v;
        }
    }
    f1_valid_ = tab.fsal;
    for (std::size_t q = 0; q < n_; ++q) {
        double v = 0.0;
        for (int j = 0; j < s; ++j) v += tab.e[j] * stages_[j][q];
        err_[q] = v;
    }
    return true;
}

// One ESDIRK step; each implicit stage by simplified Newton iterations with W = I − hγJ
// (HNW II, Sec. IV.8: the convergence test η ‖Δ‖ ≤ κ with η = θ/(1 − θ); a failure when θ ≥ 0.99,
// or early when θ > 0.9 and the error predicted after the remaining iterations stays above κ). J is kept
// across steps and refreshed only when an iteration fails or converges slowly.
bool StiffSolver::esdirk_step(double t, double h) {
    const EsdirkTableau& tab = esdirk_tableau(method_);
    const int s = tab.stages();
    constexpr int kMaxIter = 7;
    const double kappa = std::max(10.0 * std::numeric_limits<double>::epsilon() / opt_.rtol,
                                  std::min(0.03, std::sqrt(opt_.rtol)));
    if (!jac_valid_ || refresh_jac_) {
        jac_at_y_ = false;
        ensure_jacobian(t);
        refresh_jac_ = false;
    }
    const double hg = h * tab.gamma;
    if (!factor(hg)) return false;
    k_.resize(s, std::vector<double>(n_));
    k_[0] = f0_;
    psi_.resize(n_), z_.resize(n_), fz_.resize(n_), delta_.resize(n_);
    std::vector<double>&psi = psi_, &z = z_, &fz = fz_, &delta = delta_;
    double theta_max = 0.0;
    for (int i = 1; i < s; ++i) {
        for (std::size_t q = 0; q < n_; ++q) {
            double v = y_[q];
            for (int j = 0; j < i; ++j) v += h * tab.a[i][j] * k_[j][q];
            psi[q] = v;
            z[q] = v + hg * k_[i - 1][q];  // predictor: the last stage's slope
        }
        double prev = 0.0, eta = 1.0;  // ‖Δ‖ of the last iteration; θ/(1 − θ) (Hairer's RADAU5 η)
        bool converged = false;
        for (int it = 0; it < kMaxIter; ++it) {
            eval(t + tab.c[i] * h, z.data(), fz.data());
            for (std::size_t q = 0; q < n_; ++q) delta[q] = psi[q] + hg * fz[q] - z[q];
            solve_linear(delta.data());
            ++sol_.stats.newton;
            double sum = 0.0;
            bool finite = true;
            for (std::size_t q = 0; q < n_; ++q) {
                z[q] += delta[q];
                finite = finite && std::isfinite(z[q]);
                const double sc = delta[q] / (opt_.atol + opt_.rtol * std::abs(y_[q]));
                sum += sc * sc;
            }
            if (!finite) {
                saw_nonfinite_ = true;
                return false;
            }
            const double norm = n_ ? std::sqrt(sum / double(n_)) : 0.0;
            if (it > 0) {
                const double theta = norm / prev;
                theta_max = std::max(theta_max, theta);
                if (!(theta < 0.99)) return false;
                eta = theta / (1.0 - theta);
                if (std::pow(theta, kMaxIter - 1 - it) / (1.0 - theta) * norm > kappa && it + 1 < kMaxIter &&
                    theta > 0.9)
                    return false;
            }
            prev = norm;
            // Converged once the predicted remaining error η ‖Δ‖ is below κ; the first
            // iteration has no rate of its own yet and must make ‖Δ‖ itself that small.
            if ((it > 0 ? eta * norm : norm) <= kappa || norm == 0.0) {
                converged = true;
                break;
            }
        }
        if (!converged) return false;
        // The stage's slope from the stage equation itself (z = ψ + hγ k), not f(z): the
        // iteration's last f is at the previous iterate (HNW II, Sec. IV.8, remark on (8.18)).
        for (std::size_t q = 0; q < n_; ++q) k_[i][q] = (z[q] - psi[q]) / hg;
    }
    for (std::size_t q = 0; q < n_; ++q) {
        double x = y_[q];
        for (int j = 0; j < s; ++j) x += h * tab.b[j] * k_[j][q];
        y1_[q] = x;
    }
    f1_ = k_[s - 1];  // stiffly accurate: the last stage is y1
    f1_valid_ = true;
    for (std::size_t q = 0; q < n_; ++q) {
        double v = 0.0;
        for (int j = 0; j < s; ++j) v += h * tab.b_err[j] * k_[j][q];
        err_[q] = v;
    }
    // Hosea & Shampine's filter: W⁻¹ err keeps the estimate of stiff components bounded.
    solve_linear(err_.data());
    // Hairer's RADAU5 keeps J only while the iterations contract fast (θ ≤ 1e-3 there; 0.1
    // here, where each stage costs one evaluation per iteration rather than a system solve).
    if (theta_max > 0.1) refresh_jac_ = true;
    return true;
}

// One step of dopri5 or tsit5 from its tableau, with the stiffness ratio of its last two stages.
void StiffSolver::explicit_step(double t, double h) {
    const ButcherTableau& tab = tableau(method_);
    const int s = tab.stages();
    k_.resize(s, std::vector<double>(n_));
    y_stage_prev_.resize(n_);
    k_[0] = f0_;
    for (int i = 1; i < s; ++i) {
        for (std::size_t q = 0; q < n_; ++q) {
            double v = 0.0;
            for (int j = 0; j < i; ++j) v += tab.a[i][j] * k_[j][q];
            tmp_[q] = y_[q] + h * v;
        }
        if (i == s - 2) y_stage_prev_ = tmp_;
        eval(t + tab.c[i] * h, tmp_.data(), k_[i].data());
    }
    y1_ = tmp_;  // FSAL: the last stage is at y1
    f1_ = k_[s - 1];
    f1_valid_ = true;
    double num_sq = 0.0, den_sq = 0.0;
    for (std::size_t q = 0; q < n_; ++q) {
        double v = 0.0;
        for (int j = 0; j < s; ++j) v += tab.b_err[j] * k_[j][q];
        err_[q] = h * v;
        const double dk = k_[s - 1][q] - k_[s - 2][q], dy = y1_[q] - y_stage_prev_[q];
        num_sq += dk * dk;
        den_sq += dy * dy;
    }
    rho_h_ = den_sq > 0.0 ? std::abs(h) * std::sqrt(num_sq / den_sq) : 0.0;
}

// y(t_out) inside [t, t + h]: the explicit or Rosenbrock method's own continuous extension, or
// for trbdf2 the cubic Hermite interpolant of y0, f0, y1 and the last stage's slope (order 3).
void StiffSolver::dense(double t, double h, double t_out, std::vector<double>& out) {
    const double th = (t_out - t) / h;
    out.resize(n_);
    if (!implicit()) {
        const ButcherTableau& tab = tableau(method_);
        const int s = tab.stages();
        std::vector<double> w(tab.dense.poly.size(), 0.0);
        for (std::size_t j = 0; j < w.size(); ++j) {
            double p = 0.0, pw = th;
            for (double coef : tab.dense.poly[j]) p += coef * pw, pw *= th;
            w[j] = p;
        }
        for (std::size_t q = 0; q < n_; ++q) {
            double v = 0.0;
            for (std::size_t j = 0; j < w.size(); ++j)
                v += w[j] * (static_cast<int>(j) < s ? k_[j][q] : f1_[q]);
            out[q] = y_[q] + h * v;
        }
        return;
    }
    if (is_rosenbrock(method_)) {
        // The method's own interpolant from its stages: unlike Hermite's, it never multiplies
        // f(t + h, y1) by h, which on a stiff component turns a tolerance-sized error in y1
        // into one λ times larger.
        const RosenbrockTableau& tab = rosenbrock_tableau(method_);
        for (std::size_t q = 0; q < n_; ++q) {
            double a = 0.0, b = 0.0;
            for (int j = 0; j < tab.stages(); ++j) a += tab.d2[j] * stages_[j][q], b += tab.d3[j] * stages_[j][q];
            out[q] = (1.0 - th) * y_[q] + th * (y1_[q] + (1.0 - th) * (a + th * b));
        }
        return;
    }
    const double t2 = th * th, t3 = t2 * th;
    const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + th, h01 = -2 * t3 + 3 * t2, h11 = t3 - t2;
    for (std::size_t q = 0; q < n_; ++q) out[q] = h00 * y_[q] + h01 * y1_[q] + h * (h10 * f0_[q] + h11 * f1_[q]);
}

// The accepted step's interpolant in dense_value's form, for a caller that reads y(t) between
// steps later (odeint's adjoint through an implicit method).
void StiffSolver::save_interpolant(double h) {
    std::vector<double> A(n_), B(n_);
    if (is_rosenbrock(method_)) {
        const RosenbrockTableau& tab = rosenbrock_tableau(method_);
        for (std::size_t q = 0; q < n_; ++q) {
            double a = 0.0, b = 0.0;
            for (int j = 0; j < tab.stages(); ++j) a += tab.d2[j] * stages_[j][q], b += tab.d3[j] * stages_[j][q];
            A[q] = a, B[q] = b;
        }
    } else {  // cubic Hermite; f1 is known (FSAL or trbdf2's last slope)
        for (std::size_t q = 0; q < n_; ++q) {
            A[q] = y_[q] - y1_[q] + h * f0_[q];
            B[q] = 2.0 * (y1_[q] - y_[q]) - h * (f0_[q] + f1_[q]);
        }
    }
    sol_.step_a.push_back(std::move(A));
    sol_.step_b.push_back(std::move(B));
}

}  // namespace odenet::ode::detail
