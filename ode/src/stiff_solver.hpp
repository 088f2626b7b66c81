#pragma once
// The stiff solver's class (detail/stiff.hpp): its steps are in stiff_steps.cpp, its loop in
// stiff_solve.cpp. Private to ode/src.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "odenet/ode/detail/integrator.hpp"
#include "odenet/ode/detail/stiff.hpp"
#include "odenet/ode/implicit.hpp"

namespace odenet::ode::detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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
inline constexpr double kStabilityEdge = 3.25;
inline constexpr int kStiffSteps = 15, kResetAfter = 6, kNonStiffSteps = 5;

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
        jumps_ = jumps_inside(o.jump_times, ts.front(), ts.back(), dir_);
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
        const std::size_t i = first_nonfinite(x.data(), n_);
        if (i == kNpos) return;
        throw SolverError("solve", t, h,
                          std::string("non-finite value ") + num(x[i]) + " in " + what + " at " +
                              describe_component(i, shape_),
                          i);
    }

    // err_i / (atol + rtol max(|y0_i|, |y1_i|)) under the RMS or the user's norm (the explicit
    // loop's kernels, detail/kernels.hpp).
    double error_norm(const std::vector<double>& e, const std::vector<double>& y0, const std::vector<double>& y1) {
        if (!opt_.norm) return rms_error(e.data(), y0.data(), y1.data(), opt_.rtol, opt_.atol, n_);
        scaled_error(scaled_.data(), e.data(), y0.data(), y1.data(), opt_.rtol, opt_.atol, n_);
        return opt_.norm(std::span<const double>(scaled_));
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
    double jump_gap(double tj, double t) const { return detail::jump_gap(tj, t, f_eps_); }
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
    std::vector<double> psi_, z_, fz_, delta_;  // trbdf2's stage buffers
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
    double rho_h_ = 0.0;   // the explicit step's h ρ
    int stiff_count_ = 0, non_stiff_count_ = 0;
    std::size_t next_ = 1;
    std::vector<double> jumps_;  // inside the span, in the direction of the solve
    std::size_t next_jump_ = 0;
    FlatSolution sol_;
};

}  // namespace odenet::ode::detail
