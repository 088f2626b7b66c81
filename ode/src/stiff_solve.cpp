// The stiff solve (detail/stiff.hpp): the loop that steps, controls, switches between the
// explicit and the implicit method, hops jump times and fills the outputs. The steps themselves
// are in stiff_steps.cpp.
#include "stiff_solver.hpp"

namespace odenet::ode::detail {

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
    std::swap(y_, y1_);
    if (!f1_valid_) eval(t_new, y_.data(), f1_.data());
    std::swap(f0_, f1_);
    f0_exact_ = !f1_is_slope;
    f1_valid_ = false;
    check_finite(f0_, t_new, h, "f(t, y) at an accepted state");
    jac_at_y_ = false;  // a Rosenbrock step evaluates J anew (and so factorises anew)
}

void StiffSolver::fail(double t, double h, const std::string& what) {
    std::string reason = what + " (" + std::string(method_name(method_)) + ")";
    const std::size_t worst = argmax_scaled_error(err_.data(), y_.data(), y1_.data(), opt_.rtol, opt_.atol, n_);
    if (worst != kNpos) reason += "; the last attempt's error was dominated by " + describe_component(worst, shape_);
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
