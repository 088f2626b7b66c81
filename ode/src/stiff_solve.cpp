// The stiff solve (detail/stiff.hpp): Rosenbrock and ESDIRK steps, the explicit steps of a
// stiff_switch solve with Hairer's stiffness test, and the loop that chooses between them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "odenet/ode/detail/integrator.hpp"
#include "odenet/ode/detail/stiff.hpp"
#include "odenet/ode/implicit.hpp"

namespace odenet::ode::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Note [Stiffness switching]
// Explicit → implicit: Hairer's test on dopri5's and tsit5's last two stages, both at t + h
// (HNW II, Sec. IV.2, eq. 2.26, and the code DOPRI5): ρ = ‖k_s − k_{s−1}‖ / ‖Y_s − Y_{s−1}‖
// estimates the dominant eigenvalue's modulus; h ρ beyond 3.25 (the edge of dopri5's stability
// region on the negative axis) means stability, not accuracy, limits h. Fifteen such accepted
// steps (reset after six that are not) switch to the implicit method.
// Implicit → explicit: the explicit method would be stable at the step the implicit method is
// taking when h ‖J‖∞ ≤ 3.25 (‖J‖∞ bounds the spectral radius, so the test errs towards staying
// implicit); five accepted steps in a row switch back. The controller forgets its history at a
// switch: the methods' error estimates are not comparable.
constexpr double kStabilityEdge = 3.25;
constexpr int kStiffSteps = 15, kResetAfter = 6, kNonStiffSteps = 5;

class StiffSolver {
public:
    StiffSolver(const FlatRhs& f, const std::vector<double>& y0, const std::vector<std::size_t>& shape,
                const std::vector<double>& ts, const Options& o, LinearAlgebra* algebra, double f_eps)
        : f_(f), f_eps_(f_eps), shape_(shape), ts_(ts), opt_(o), n_(y0.size()), y_(y0), f0_(n_), y1_(n_), f1_(n_), err_(n_),
          tmp_(n_), ft_(n_, 0.0) {
        if (!algebra) owned_ = dense_algebra(f, n_, o, f_eps);
        alg_ = algebra ? algebra : owned_.get();
        implicit_method_ = is_implicit(o.method) ? o.method : *o.stiff_switch;
        method_ = o.method;
        dir_ = check_times(ts);
        for (double tj : o.jump_times)
            if (dir_ * (tj - ts.front()) > 0.0 && dir_ * (ts.back() - tj) > 0.0) jumps_.push_back(tj);
        std::sort(jumps_.begin(), jumps_.end(), [this](double a, double b) { return dir_ * a < dir_ * b; });
        jumps_.erase(std::unique(jumps_.begin(), jumps_.end()), jumps_.end());
        sol_.ys.push_back(y0);
        if (o.norm) scaled_.resize(n_);
    }

    FlatSolution run();

private:
    bool implicit() const { return is_implicit(method_); }
    int error_order() const {
        if (!implicit()) return tableau(method_).error_order;
        return is_rosenbrock(method_) ? rosenbrock_tableau(method_).error_order : esdirk_tableau(method_).error_order;
    }

    void eval(double t, const double* y, double* out) {
        f_(t, y, out);
        ++sol_.stats.nfe;
    }

    void check_finite(const std::vector<double>& x, double t, double h, const char* what) {
        for (std::size_t i = 0; i < n_; ++i)
            if (!std::isfinite(x[i]))
                throw SolverError("solve", t, h,
                                  std::string("non-finite value ") + num(x[i]) + " in " + what + " at " +
                                      describe_component(i, shape_),
                                  i);
    }

    // err_i / (atol + rtol max(|y_i|, |y1_i|)) under the RMS or the user's norm.
    double error_norm(const std::vector<double>& e, const std::vector<double>& y0, const std::vector<double>& y1) {
        if (opt_.norm) {
            for (std::size_t i = 0; i < n_; ++i)
                scaled_[i] = e[i] / (opt_.atol + opt_.rtol * std::max(std::abs(y0[i]), std::abs(y1[i])));
            return opt_.norm(std::span<const double>(scaled_));
        }
        double sum = 0.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double s = e[i] / (opt_.atol + opt_.rtol * std::max(std::abs(y0[i]), std::abs(y1[i])));
            sum += s * s;
        }
        return n_ ? std::sqrt(sum / double(n_)) : 0.0;
    }

    std::size_t dominant(const std::vector<double>& e) const {
        std::size_t best = 0;
        double worst = -1.0;
        for (std::size_t i = 0; i < n_; ++i) {
            const double s = std::abs(e[i]) / (opt_.atol + opt_.rtol * std::max(std::abs(y_[i]), std::abs(y1_[i])));
            if (s > worst) worst = s, best = i;
        }
        return best;
    }

    double initial_step(double t0);

    // ---- the Jacobian and the factorisation ---------------------------------------------
    void ensure_jacobian(double t) {
        if (jac_at_y_) return;
        // A difference Jacobian needs f(t, y) itself as its base: trbdf2's f0 is the last
        // stage's slope, off from f(t, y) by the Newton tolerance, which divided by a step of
        // √eps |y| made J wrong by orders of magnitude (y' = −y² went negative at rtol 1e-4).
        sol_.stats.nfe += alg_->jacobian(t, y_.data(), f0_exact_ ? f0_.data() : nullptr);
        ++sol_.stats.njac;
        jac_at_y_ = true;
        jac_valid_ = true;
        factored_hg_ = kNaN;
        if (!opt_.autonomous && is_rosenbrock(method_)) {
            // ∂f/∂t by a forward difference (Hairer's RODAS): δ = √(eps max(1e-5, |t|)), with
            // the epsilon of f's arithmetic (a float32 f reads t + δ rounded to float).
            // The step points the way the solve goes: from just past a jump it stays on that side.
            const double delta = dir_ * std::sqrt(f_eps_ * std::max(1e-5, std::abs(t)));
            const double t_plus = t + delta;
            eval(t_plus, y_.data(), tmp_.data());
            for (std::size_t i = 0; i < n_; ++i) ft_[i] = (tmp_[i] - f0_[i]) / (t_plus - t);
        }
    }

    bool factor(double hg) {
        if (hg == factored_hg_) return true;
        ++sol_.stats.nlu;
        if (!alg_->factor(hg)) {
            factored_hg_ = kNaN;
            return false;
        }
        factored_hg_ = hg;
        return true;
    }

    void solve_linear(double* x) {
        alg_->solve(x);
        ++sol_.stats.nsolve;
    }

    // ---- steps: each fills y1_, err_ and, when it knows it, f1_ (f1_valid_) ------------
    bool rosenbrock_step(double t, double h);
    bool esdirk_step(double t, double h);
    void explicit_step(double t, double h);

    // ---- jump times, as Note [Steps at jump times] in detail/integrator.hpp ----------------
    // Half the skipped interval: 4 ulps in the precision f reads t in.
    double jump_gap(double tj, double t) const {
        return 4.0 * f_eps_ * std::max({std::abs(tj), std::abs(t), std::numeric_limits<double>::min()});
    }
    // The last jump of the cluster starting at next_jump_ (no room for a step between them).
    std::size_t cluster_end(double t, double h_min) const {
        std::size_t last = next_jump_;
        while (last + 1 < jumps_.size() &&
               dir_ * (jumps_[last + 1] - jumps_[last]) <= 2.0 * jump_gap(jumps_[last + 1], t) + h_min)
            ++last;
        return last;
    }
    void hop(double& t, double restart);

    void dense(double t, double h, double t_out, std::vector<double>& out);
    void save_interpolant(double h);
    void emit_outputs(double t, double h, double t_new);
    void after_accept(double t, double h, double h_next);
    [[noreturn]] void fail(double t, double h, const std::string& what);

    const FlatRhs& f_;
    double f_eps_;  // machine epsilon of f's arithmetic
    std::vector<std::size_t> shape_;
    const std::vector<double>& ts_;
    const Options& opt_;
    std::unique_ptr<LinearAlgebra> owned_;
    LinearAlgebra* alg_ = nullptr;
    std::size_t n_;
    std::vector<double> y_, f0_, y1_, f1_, err_, tmp_, ft_, scaled_;
    std::vector<std::vector<double>> stages_, k_;
    std::vector<double> y_stage_prev_;  // the explicit step's second-last stage state (stiffness test)
    Method method_, implicit_method_;
    double dir_ = 1.0;
    bool f1_valid_ = false;
    bool f0_exact_ = true;    // f0_ is f(t, y) itself, not an implicit stage's slope
    bool saw_nonfinite_ = false;
    bool jac_at_y_ = false;   // J was evaluated at the current (t, y)
    bool jac_valid_ = false;  // some J is held (trbdf2 reuses it across steps)
    bool refresh_jac_ = false;
    double factored_hg_ = kNaN;
    double eta_ = 1.0;     // Newton's contraction estimate θ/(1 − θ) (Hairer's RADAU5 η)
    double rho_h_ = 0.0;   // the explicit step's h ρ
    int stiff_count_ = 0, non_stiff_count_ = 0;
    std::size_t next_ = 1;
    std::vector<double> jumps_;  // inside the span, in the direction of the solve
    std::size_t next_jump_ = 0;
    FlatSolution sol_;
};

// From just before a cluster of jumps to just after it: y is kept, f is evaluated anew on the far
// side and J will be; outputs inside the gap take y; with save_steps the hop is a step of its
// own whose interpolant is the constant y.
void StiffSolver::hop(double& t, double restart) {
    while (next_ < ts_.size() && dir_ * (ts_[next_] - restart) <= 0.0) {
        sol_.ys.push_back(y_);
        ++next_;
    }
    if (opt_.save_steps) {
        sol_.step_ts.push_back(restart);
        sol_.step_ys.push_back(y_);
        sol_.step_a.emplace_back(n_, 0.0);
        sol_.step_b.emplace_back(n_, 0.0);
    }
    t = restart;
    eval(t, y_.data(), f0_.data());
    check_finite(f0_, t, 0.0, "f(t, y) just after a jump time");
    f0_exact_ = true;
    jac_at_y_ = false;
    refresh_jac_ = true;
}

// Hairer & Wanner's starting step (HNW I, Sec. II.4), as the explicit loop's initial_step.
double StiffSolver::initial_step(double t0) {
    const double d0 = error_norm(y_, y_, y_), d1 = error_norm(f0_, y_, y_);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    h0 = std::min(h0, opt_.max_step);
    for (std::size_t i = 0; i < n_; ++i) y1_[i] = y_[i] + dir_ * h0 * f0_[i];
    eval(t0 + dir_ * h0, y1_.data(), f1_.data());
    for (std::size_t i = 0; i < n_; ++i) tmp_[i] = f1_[i] - f0_[i];
    const double d2 = error_norm(tmp_, y_, y_) / h0;
    if (!std::isfinite(d2)) return dir_ * h0;
    const double dmax = std::max(d1, d2);
    const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 1.0 / (error_order() + 1));
    return dir_ * std::min({100.0 * h0, h1, opt_.max_step});
}

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
// (HNW II, Sec. IV.8: the convergence test η ‖Δ‖ ≤ κ with η = θ/(1 − θ), and the early exit
// when θ ≥ 1 or the predicted error after the remaining iterations stays above κ). J is kept
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
    std::vector<double> psi(n_), z(n_), fz(n_), delta(n_);
    double theta_max = 0.0;
    for (int i = 1; i < s; ++i) {
        for (std::size_t q = 0; q < n_; ++q) {
            double v = y_[q];
            for (int j = 0; j < i; ++j) v += h * tab.a[i][j] * k_[j][q];
            psi[q] = v;
            z[q] = v + hg * k_[i - 1][q];  // predictor: the last stage's slope
        }
        double prev = 0.0;
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
                eta_ = theta / (1.0 - theta);
                if (std::pow(theta, kMaxIter - 1 - it) / (1.0 - theta) * norm > kappa && it + 1 < kMaxIter &&
                    theta > 0.9)
                    return false;
            }
            prev = norm;
            // Converged once the predicted remaining error η ‖Δ‖ is below κ; the first
            // iteration has no rate of its own yet and must make ‖Δ‖ itself that small.
            if ((it > 0 ? eta_ * norm : norm) <= kappa || norm == 0.0) {
                converged = true;
                break;
            }
        }
        if (!converged) return false;
        // The stage's slope from the stage equation itself (z = ψ + hγ k), not f(z): the
        // iteration's last f is at the previous iterate (HNW II, Sec. IV.8, remark on (8.18)).
        for (std::size_t q = 0; q < n_; ++q) k_[i][q] = (z[q] - psi[q]) / hg;
    }
    y1_ = [&] {
        std::vector<double> v(n_);
        for (std::size_t q = 0; q < n_; ++q) {
            double x = y_[q];
            for (int j = 0; j < s; ++j) x += h * tab.b[j] * k_[j][q];
            v[q] = x;
        }
        return v;
    }();
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

void StiffSolver::emit_outputs(double t, double h, double t_new) {
    while (next_ < ts_.size() && dir_ * (ts_[next_] - t_new) <= 0.0) {
        if (ts_[next_] == t_new) {
            sol_.ys.push_back(y1_);
        } else {
            sol_.ys.emplace_back();
            dense(t, h, ts_[next_], sol_.ys.back());
        }
        ++next_;
    }
}

// y ← y1, f0 ← f1, and the switching decision of Note [Stiffness switching].
void StiffSolver::after_accept(double t_new, double h, double h_next) {
    ++sol_.stats.accepted;
    if (implicit()) ++sol_.stats.stiff_steps;
    if (opt_.save_steps) {
        sol_.step_ts.push_back(t_new);
        sol_.step_ys.push_back(y1_);
        save_interpolant(h);
    }
    const bool was_implicit = implicit();
    // trbdf2's f1 is its last stage's slope (z − ψ)/(hγ), not f(t + h, y1).
    const bool f1_is_slope = f1_valid_ && was_implicit && !is_rosenbrock(method_);
    if (opt_.stiff_switch) {
        if (!was_implicit) {
            if (rho_h_ > kStabilityEdge) {
                ++stiff_count_;
                non_stiff_count_ = 0;
            } else if (++non_stiff_count_ >= kResetAfter) {
                stiff_count_ = 0;
            }
            if (stiff_count_ >= kStiffSteps) {
                method_ = implicit_method_;
                stiff_count_ = non_stiff_count_ = 0;
                ++sol_.stats.switches;
            }
        } else if (jac_at_y_) {
            if (std::abs(h_next) * alg_->spectral_bound() <= kStabilityEdge) {
                if (++non_stiff_count_ >= kNonStiffSteps) {
                    method_ = opt_.method;
                    non_stiff_count_ = 0;
                    ++sol_.stats.switches;
                }
            } else {
                non_stiff_count_ = 0;
            }
        }
    }
    (void)h;
    std::swap(y_, y1_);
    if (!f1_valid_) eval(t_new, y_.data(), f1_.data());
    std::swap(f0_, f1_);
    f0_exact_ = !f1_is_slope;
    f1_valid_ = false;
    check_finite(f0_, t_new, h, "f(t, y) at an accepted state");
    jac_at_y_ = false;
    factored_hg_ = is_rosenbrock(method_) ? kNaN : factored_hg_;
}

void StiffSolver::fail(double t, double h, const std::string& what) {
    std::string reason = what + " (" + std::string(method_name(method_)) + "); the last attempt's error was dominated by " +
                         describe_component(dominant(err_), shape_);
    if (saw_nonfinite_) reason += "; rejected attempts produced NaN or Inf in the stages (f is non-finite near t)";
    throw SolverError("solve", t, h, reason);
}

FlatSolution StiffSolver::run() {
    sol_.stats = {};
    if (ts_.size() == 1) return std::move(sol_);
    const double t0 = ts_.front(), t_end = ts_.back();
    check_finite(y_, t0, 0.0, "the initial state y0");
    eval(t0, y_.data(), f0_.data());
    check_finite(f0_, t0, 0.0, "f(t0, y0)");
    PIController controller = opt_.controller;
    controller.reset();
    double t = t0;
    double h = opt_.first_step > 0.0 ? dir_ * std::min(opt_.first_step, opt_.max_step) : initial_step(t0);
    double planned = h;
    const double eps = std::numeric_limits<double>::epsilon();
    while (next_ < ts_.size()) {
        // The floating-point floor at t itself (Options::min_step): a solve to t = 1e11 must
        // still take the steps of 1e-6 that Robertson's start needs.
        const double h_min = std::max({opt_.min_step, 8.0 * eps * std::abs(t), std::numeric_limits<double>::min()});
        if (sol_.stats.accepted + sol_.stats.rejected >= opt_.max_steps)
            fail(t, h, "maximum number of steps (" + std::to_string(opt_.max_steps) + ") reached before t = " +
                           num(t_end));
        planned = h;
        bool cut_for_jump = false;
        double jump_end = t;
        while (next_jump_ < jumps_.size()) {
            const double tj = jumps_[next_jump_], gap = jump_gap(tj, t);
            const std::size_t last = cluster_end(t, h_min);
            if (dir_ * (t_end - jumps_[last]) <= 2.0 * jump_gap(jumps_[last], t) + h_min) {
                next_jump_ = jumps_.size();  // at the end: landing there will do
                break;
            }
            if (dir_ * (tj - t) <= 2.0 * gap + h_min) {  // at the jump: hop the cluster
                const double restart = jumps_[last] + dir_ * jump_gap(jumps_[last], t);
                next_jump_ = last + 1;
                if (dir_ * (restart - t) > 0.0) hop(t, restart);
                continue;
            }
            if (dir_ * (t + h - tj) >= -gap - h_min) {
                cut_for_jump = true;
                jump_end = tj - dir_ * gap;
                h = jump_end - t;
            }
            break;
        }
        if (next_ >= ts_.size()) break;  // a hop reached the last output
        if (!cut_for_jump && dir_ * (t + h - t_end) >= -h_min) h = t_end - t;
        // The implicit methods land on every output time rather than interpolate: on a stiff
        // problem their interpolants lose order (HNW II, Sec. IV.15), and with Prothero-Robinson
        // (λ = 1e4, rtol 1e-6) rodas4's read 30 times the tolerance between steps.
        bool cut_for_output = false;
        if (implicit() && dir_ * (t + h - ts_[next_]) > 0.0 && dir_ * (ts_[next_] - t) > h_min) {
            h = ts_[next_] - t;
            cut_for_output = true;
            cut_for_jump = false;
        }
        const Method stepped = method_;
        bool ok = true;
        if (!implicit())
            explicit_step(t, h);
        else if (is_rosenbrock(method_))
            ok = rosenbrock_step(t, h);
        else
            ok = esdirk_step(t, h);
        double ratio = ok ? error_norm(err_, y_, y1_) : kNaN;
        if (ok && std::isfinite(ratio) && ratio <= 1.0)
            for (std::size_t q = 0; q < n_ && std::isfinite(ratio); ++q)
                if (!std::isfinite(y1_[q])) ratio = kNaN;
        StepDecision decision = controller.propose(h, ratio, error_order());
        if (!ok) {
            // Newton failed or W was singular: a fresh Jacobian first, then a smaller step.
            decision = {false, jac_at_y_ ? 0.5 * h : h};
            if (!jac_at_y_) refresh_jac_ = true;
        }
        if (opt_.step_callback) opt_.step_callback(StepInfo{t, h, ratio, decision.accept, stepped});
        double h_next = decision.h_next;
        if (std::abs(h_next) > opt_.max_step) h_next = dir_ * opt_.max_step;
        if (std::abs(h_next) < h_min) h_next = dir_ * h_min;
        if (decision.accept) {
            const double t_new = cut_for_jump                         ? jump_end
                                 : (t + h == t_end || h == t_end - t) ? t_end
                                 : cut_for_output                     ? ts_[next_]
                                                                      : t + h;
            emit_outputs(t, h, t_new);
            after_accept(t_new, h, h_next);
            if (method_ != stepped) controller.reset();
            t = t_new;
        } else {
            ++sol_.stats.rejected;
            if (ok && !std::isfinite(ratio)) saw_nonfinite_ = true;
            if (std::abs(h) <= h_min * (1.0 + 1e-12))
                fail(t, h, "step size underflow: a step of |h| <= " + num(h_min) + " was rejected (error ratio " +
                               num(ratio) + ")");
        }
        if (next_ < ts_.size())
            // A step cut to land on an output was accepted at a size the error did not ask for.
            h = decision.accept && (cut_for_output || cut_for_jump) && std::abs(h_next) < std::abs(planned) ? planned
                                                                                                           : h_next;
        else
            sol_.next_step = std::abs(h == planned ? h_next : planned);
    }
    return std::move(sol_);
}

}  // namespace

void dense_value(const std::vector<double>& y0, const std::vector<double>& y1, const std::vector<double>& A,
                 const std::vector<double>& B, double th, double* out) {
    for (std::size_t q = 0; q < y0.size(); ++q) out[q] = (1.0 - th) * y0[q] + th * (y1[q] + (1.0 - th) * (A[q] + th * B[q]));
}

FlatSolution solve_stiff(const FlatRhs& f, const std::vector<double>& y0, const std::vector<std::size_t>& shape,
                         const std::vector<double>& ts, const Options& options, LinearAlgebra* algebra, double f_eps) {
    validate(options);
    StiffSolver solver(f, y0, shape, ts, options, algebra, f_eps);
    return solver.run();
}

}  // namespace odenet::ode::detail
