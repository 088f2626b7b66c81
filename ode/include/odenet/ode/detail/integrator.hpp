#pragma once
// The step loop behind solve() (diffrax's _integrate.py loop): adaptive or fixed steps, outputs
// from dense output, and the failure messages. Internal: use solve() from solve.hpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/ode/dense_output.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/rk_step.hpp"
#include "odenet/ode/solution.hpp"
#include "odenet/ode/state_ops.hpp"

namespace odenet::ode {

namespace detail {

/// "%.6g" of x: "1e-15", "nan", "20".
std::string num(double x);

/// +1 or -1; throws SolverError (h = 0) unless ts is non-empty, finite and strictly monotone.
double check_times(const std::vector<double>& ts);

/// "flat index 7 (batch 2, component 1 of 3) of a state of shape (4, 3)".
std::string describe_component(std::size_t flat, const std::vector<std::size_t>& shape);

/// The dominant components of the last rejected attempts, for the failure messages
/// (see Options: underflow and max-steps errors name the sample and unit that forced small h).
class FailureLog {
public:
    void record(std::size_t flat);
    /// "...; over the last 8 rejected attempts the error was dominated by <most frequent>".
    std::string summary(const std::vector<std::size_t>& shape, std::size_t last_flat, double last_ratio) const;
    bool saw_nonfinite = false;

private:
    std::array<std::size_t, 8> ring_{};
    std::size_t count_ = 0;
};

// Note [Steps at jump times]
// An embedded Runge-Kutta pair assumes f smooth across the step. A step straddling a time where
// f (or a derivative) jumps makes the error estimate wrong and the controller shrink h until the
// step fits the jump into rounding: many rejected steps, and an answer only as accurate as the
// estimate happened to be (stepping across a CDE path's knots cost about 1e-6 in gradients with
// respect to the data at rtol 1e-9). Told the jumps (Options::jump_times), the loop never lets a
// step reach one: a step that would ends at t_j - g, and the next starts at t_j + g with f
// evaluated anew there (no FSAL reuse across the jump), the state unchanged. g is 4 ulps of
// max(|t_j|, |t|) in the precision f reads t in (float32 for float32 states, whose odeint passes
// t as float32), so that no stage time rounds onto or across t_j: every evaluation of f sees one
// side of the jump, the side of the interval it serves. The skipped 2g changes y by 2g |f|,
// below rounding. As diffrax's jump_ts (Kidger 2021, "On neural differential equations", sec.
// 5.4), without its one-ulp variant, which float32 time would undo.
// Jumps too close together for a step between them (closer than 2g plus the step-size floor:
// two times one ulp apart, a user's jump next to a path's knot) are one cluster, hopped at once
// from just before the first to just after the last; time never moves back. The hop is recorded
// as a step of its own (save_steps), so that a checkpointed re-solve, which replays the forward
// step by step, hops at the same place.

/// The jumps strictly inside (t0, t_end), sorted in the direction of the solve, without repeats.
inline std::vector<double> jumps_inside(std::vector<double> jumps, double t0, double t_end, double dir) {
    std::erase_if(jumps, [&](double tj) { return !(dir * (tj - t0) > 0.0 && dir * (t_end - tj) > 0.0); });
    std::sort(jumps.begin(), jumps.end(), [dir](double a, double b) { return dir * a < dir * b; });
    jumps.erase(std::unique(jumps.begin(), jumps.end()), jumps.end());
    return jumps;
}

/// Half the width of the interval skipped at a jump: 4 ulps of max(|t_j|, |t|) in the precision
/// f reads t in (eps: that precision's machine epsilon).
inline double jump_gap(double tj, double t, double eps) {
    return 4.0 * eps * std::max({std::abs(tj), std::abs(t), std::numeric_limits<double>::min()});
}

/// The loop of one solve. solve() is its only user; a class so that the output, failure and
/// error-norm code paths are short named functions around the one long loop.
template <class State, class F>
class Integrator {
public:
    using Ops = StateOps<State>;

    Integrator(F& f, const State& y0, const std::vector<double>& ts, const Options& options)
        : f_(f), ts_(ts), opt_(options), tab_(tableau(options.method)), cache_(tab_, y0), y_(y0) {
        dir_ = check_times(ts);
        jumps_ = jumps_inside(options.jump_times, ts.front(), ts.back(), dir_);
        sol_.ts = ts;
        sol_.ys.reserve(ts.size());
        sol_.ys.push_back(y0);
        if (options.norm) scaled_.resize(Ops::size(y0));
    }

    Solution<State> run() {
        if (ts_.size() == 1) return std::move(sol_);
        const double t0 = ts_.front();
        check_state_finite(y_, t0, 0.0, "the initial state y0");
        eval_rhs(f_, t0, y_, cache_.k[0], 0.0, sol_.stats);
        check_state_finite(cache_.k[0], t0, 0.0, "f(t0, y0)");
        if (opt_.step_size > 0.0 || !tab_.adaptive())
            run_fixed();
        else
            run_adaptive();
        return std::move(sol_);
    }

private:
    // ---- shared pieces ------------------------------------------------------------------
    void check_state_finite(const State& x, double t, double h, const char* what) {
        const std::size_t i = Ops::first_nonfinite(x);
        if (i == kNpos) return;
        throw SolverError("solve", t, h,
                          std::string("non-finite value ") + num(Ops::value_at(x, i)) + " in " + what +
                              " at " + describe_component(i, Ops::shape(x)),
                          i);
    }

    double norm_of(const State& err, const State& y0, const State& y1) {
        if (!opt_.norm) return Ops::rms_error(err, y0, y1, opt_.rtol, opt_.atol);
        Ops::scaled_error(scaled_.data(), err, y0, y1, opt_.rtol, opt_.atol);
        return opt_.norm(std::span<const double>(scaled_));
    }

    double error_ratio() {
        const double e = norm_of(cache_.err, y_, cache_.y_new);
        if (tab_.b_err_low.empty()) return e;
        // DOP853's combination of its 5th- and 3rd-order estimates, HNW I, Sec. II.10.
        const double e3 = norm_of(cache_.err_low, y_, cache_.y_new);
        const double den = e * e + 0.01 * e3 * e3;
        return den > 0.0 ? e * e / std::sqrt(den) : e * e;
    }

    // Outputs falling in (t, t + h]: the exact end state, or the dense output inside.
    void emit_outputs(double t, double h, double t_new) {
        while (next_ < ts_.size() && dir_ * (ts_[next_] - t_new) <= 0.0) {
            if (ts_[next_] == t_new) {
                sol_.ys.push_back(cache_.y_new);
            } else {
                prepare_dense(f_, t, y_, h, cache_, sol_.stats);
                sol_.ys.push_back(Ops::zeros_like(y_));
                dense_eval(y_, h, (ts_[next_] - t) / h, cache_, sol_.ys.back());
            }
            ++next_;
        }
    }

    // After an accepted step: y <- y_new and k[0] <- f(t_new, y_new) when it is already known.
    // An f1 made for dense output is checked like any derivative at an accepted state (FSAL
    // stages were checked through the error estimate already).
    void advance(double t_new, double h) {
        using std::swap;
        if (opt_.save_steps) {
            sol_.step_ts.push_back(t_new);
            sol_.step_ys.push_back(cache_.y_new);
        }
        swap(y_, cache_.y_new);
        const int s = cache_.stages();
        if (cache_.fsal()) {
            swap(cache_.k[0], cache_.k[s - 1]);
            k0_valid_ = true;
        } else if (cache_.f1_valid) {
            swap(cache_.k[0], cache_.k[s]);
            check_state_finite(cache_.k[0], t_new, h, "f(t, y) at an accepted state");
            k0_valid_ = true;
        } else {
            k0_valid_ = false;
        }
    }

    void ensure_k0(double t, double h) {
        if (k0_valid_) return;
        eval_rhs(f_, t, y_, cache_.k[0], h, sol_.stats);
        check_state_finite(cache_.k[0], t, h, "f(t, y) at an accepted state");
        k0_valid_ = true;
    }

    void notify(double t, double h, double ratio, bool accepted) {
        if (opt_.step_callback) opt_.step_callback(StepInfo{t, h, ratio, accepted});
    }

    std::size_t attempts() const { return sol_.stats.accepted + sol_.stats.rejected; }

    [[noreturn]] void fail(double t, double h, const std::string& what, double ratio) {
        std::string reason = what;
        if (tab_.adaptive() && opt_.step_size <= 0.0 && attempts() > 0) {
            const std::size_t last = Ops::argmax_scaled_error(cache_.err, y_, cache_.y_new, opt_.rtol, opt_.atol);
            reason += log_.summary(Ops::shape(y_), last, ratio);
            // The stiffness diagnostic: an explicit method that runs out of steps, or of step
            // size, without a NaN is most often held back by stability, not accuracy.
            if (!log_.saw_nonfinite)
                reason += "; if y changes slowly while the steps stay this small, the problem is stiff: use an "
                          "implicit method, Method::rodas4 (or rosenbrock23 at loose tolerances, trbdf2), or "
                          "keep dopri5 / tsit5 with Options::stiff_switch = Method::rodas4 (ode/implicit.hpp)";
        }
        throw SolverError("solve", t, h, reason);
    }

    // ---- jump times (Note [Steps at jump times]) ----------------------------------------
    double jump_gap(double tj, double t) const {
        return detail::jump_gap(tj, t, single_precision() ? double(std::numeric_limits<float>::epsilon())
                                                          : std::numeric_limits<double>::epsilon());
    }

    bool single_precision() const {
        if constexpr (requires { Ops::single_precision(y_); })
            return Ops::single_precision(y_);
        else
            return false;
    }

    // The jumps from next_jump_ on that lie within reach of one another (no room for a step
    // between them): one hop serves them all. Sets `last` to the index of the cluster's last jump
    // and returns the time just after it, where the next step starts.
    double cluster_restart(double t, double h_min, std::size_t& last) const {
        last = next_jump_;
        while (last + 1 < jumps_.size() &&
               dir_ * (jumps_[last + 1] - jumps_[last]) <= 2.0 * jump_gap(jumps_[last + 1], t) + h_min)
            ++last;
        return jumps_[last] + dir_ * jump_gap(jumps_[last], t);
    }

    // From just before a cluster of jumps to just after it: the state is kept (the skipped
    // interval is a few ulps wide) and f is evaluated anew on the far side. Outputs inside the gap
    // take the state. Time never moves back: a restart behind t only drops the jumps.
    void hop_over_jumps(double& t, double restart, std::size_t last) {
        next_jump_ = last + 1;
        if (!(dir_ * (restart - t) > 0.0)) return;
        while (next_ < ts_.size() && dir_ * (ts_[next_] - restart) <= 0.0) {
            sol_.ys.push_back(y_);
            ++next_;
        }
        if (opt_.save_steps) {
            // A step of its own for a checkpointed re-solve, which hops the same way.
            sol_.step_ts.push_back(restart);
            sol_.step_ys.push_back(y_);
        }
        t = restart;
        k0_valid_ = false;
    }

    // ---- fixed steps ----------------------------------------------------------------------
    void run_fixed() {
        if (opt_.step_size > 0.0) {
            const double t0 = ts_.front(), t_end = ts_.back();
            const double h = dir_ * opt_.step_size;
            // Grid points t0 + k h by multiplication (no drift); the last step ends at t_end.
            // The 1e-9 keeps a span that is a multiple of h from getting an extra, tiny step.
            const auto n = static_cast<std::size_t>(std::max(1.0, std::ceil((t_end - t0) / h - 1e-9)));
            for (std::size_t k = 0; k < n; ++k) {
                const double t = t0 + static_cast<double>(k) * h;
                const double t_next = k + 1 == n ? t_end : t0 + static_cast<double>(k + 1) * h;
                fixed_step(t, t_next);
            }
        } else {
            for (std::size_t i = 0; i + 1 < ts_.size(); ++i) fixed_step(ts_[i], ts_[i + 1]);
        }
    }

    void fixed_step(double t, double t_next) {
        const double h = t_next - t;
        if (attempts() >= opt_.max_steps)
            fail(t, h, "maximum number of steps (" + std::to_string(opt_.max_steps) + ") reached before t = " +
                           num(ts_.back()), 0.0);
        ensure_k0(t, h);
        rk_step(f_, t, y_, h, cache_, sol_.stats);
        check_state_finite(cache_.y_new, t, h, "the new state y(t + h)");
        ++sol_.stats.accepted;
        notify(t, h, 0.0, true);
        emit_outputs(t, h, t_next);
        advance(t_next, h);
    }

    // ---- adaptive steps -------------------------------------------------------------------
    double initial_step(double t0);
    void run_adaptive();

    F& f_;
    const std::vector<double>& ts_;
    const Options& opt_;
    const ButcherTableau& tab_;
    StageCache<State> cache_;
    State y_;
    Solution<State> sol_;
    std::vector<double> scaled_;
    FailureLog log_;
    double dir_ = 1.0;
    double last_ratio_ = 0.0;
    std::size_t next_ = 1;  // index of the next output time to fill
    std::vector<double> jumps_;
    std::size_t next_jump_ = 0;  // index of the next jump ahead of t
    bool k0_valid_ = true;
};

// Hairer, Norsett & Wanner I, Sec. II.4, "Starting step size" (also SciPy's select_initial_step):
// h0 from |y0| / |f0|, one explicit Euler step to estimate |f'|, then h1 = (0.01 / max(d1,
// d2))^(1/(q+1)) with q the error order; h = min(100 h0, h1). Costs one evaluation of f.
template <class State, class F>
double Integrator<State, F>::initial_step(double t0) {
    const double d0 = norm_of(y_, y_, y_);
    const double d1 = norm_of(cache_.k[0], y_, y_);
    double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
    h0 = std::min(h0, opt_.max_step);
    const double one = 1.0, diff[2] = {1.0, -1.0};
    const State* f0[1] = {&cache_.k[0]};
    Ops::lincomb(cache_.y_stage, &y_, dir_ * h0, &one, f0, 1);
    eval_rhs(f_, t0 + dir_ * h0, cache_.y_stage, cache_.k[1], dir_ * h0, sol_.stats);
    const State* fs[2] = {&cache_.k[1], &cache_.k[0]};
    Ops::lincomb(cache_.err, nullptr, 1.0, diff, fs, 2);
    const double d2 = norm_of(cache_.err, y_, y_) / h0;
    if (!std::isfinite(d2)) return dir_ * h0;  // f blew up one Euler step away; let the controller cope
    const double dmax = std::max(d1, d2);
    const double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3) : std::pow(0.01 / dmax, 1.0 / (tab_.error_order + 1));
    return dir_ * std::min({100.0 * h0, h1, opt_.max_step});
}

template <class State, class F>
void Integrator<State, F>::run_adaptive() {
    const double t0 = ts_.front(), t_end = ts_.back();
    const double eps = std::numeric_limits<double>::epsilon();
    PIController controller = opt_.controller;
    controller.reset();
    double t = t0;
    double h = opt_.first_step > 0.0 ? dir_ * std::min(opt_.first_step, opt_.max_step) : initial_step(t0);
    double planned = h;  // the step the controller wanted before a cut to land on t_end

    while (next_ < ts_.size()) {
        // ---- guard rails: step budget, the end point, the step-size floor -----------------
        // The floor: below 8 ulp of the time scale, t + h no longer moves t reliably.
        const double h_min = std::max(opt_.min_step, 8.0 * eps * std::max(std::abs(t), std::abs(t_end)));
        if (attempts() >= opt_.max_steps)
            fail(t, h, "maximum number of steps (" + std::to_string(opt_.max_steps) + ") reached before t = " +
                           num(t_end), last_ratio_);
        planned = h;
        // A jump ahead: hop it when already at it; a step that would reach it ends just before.
        // Jumps closer together than a step could fit are one cluster, hopped at once.
        bool cut_for_jump = false;
        double jump_end = t, restart = t;  // with cut_for_jump: where the step ends, where the next starts
        std::size_t restart_last = 0;
        while (next_jump_ < jumps_.size()) {
            const double tj = jumps_[next_jump_], gap = jump_gap(tj, t);
            std::size_t last = 0;
            const double after = cluster_restart(t, h_min, last);
            if (dir_ * (t_end - jumps_[last]) <= 2.0 * jump_gap(jumps_[last], t) + h_min) {
                next_jump_ = jumps_.size();  // at the end: landing there will do
                break;
            }
            if (dir_ * (tj - t) <= 2.0 * gap + h_min) {
                hop_over_jumps(t, after, last);
                continue;
            }
            if (dir_ * (t + h - tj) >= -gap - h_min) {
                cut_for_jump = true;
                jump_end = tj - dir_ * gap;
                restart = after;
                restart_last = last;
                h = jump_end - t;
            }
            break;
        }
        if (next_ >= ts_.size()) break;  // a hop reached the last output
        if (!cut_for_jump && dir_ * (t + h - t_end) >= -h_min) h = t_end - t;  // land on t_end, never overshoot it
        ensure_k0(t, h);

        // ---- the step and its error ----------------------------------------------------
        rk_step(f_, t, y_, h, cache_, sol_.stats);
        double ratio = error_ratio();
        if (std::isfinite(ratio) && ratio <= 1.0 && Ops::first_nonfinite(cache_.y_new) != kNpos)
            ratio = std::numeric_limits<double>::quiet_NaN();  // never accept a non-finite state
        last_ratio_ = ratio;
        const StepDecision decision = controller.propose(h, ratio, tab_.error_order);
        notify(t, h, ratio, decision.accept);

        // ---- accept: outputs inside the step, then move on ------------------------------
        if (decision.accept) {
            const double t_new = cut_for_jump ? jump_end : (t + h == t_end || h == t_end - t) ? t_end : t + h;
            ++sol_.stats.accepted;
            emit_outputs(t, h, t_new);
            advance(t_new, h);
            t = t_new;
            if (cut_for_jump) hop_over_jumps(t, restart, restart_last);
        } else {
            ++sol_.stats.rejected;
            if (!std::isfinite(ratio)) log_.saw_nonfinite = true;
            log_.record(Ops::argmax_scaled_error(cache_.err, y_, cache_.y_new, opt_.rtol, opt_.atol));
            if (std::abs(h) <= h_min * (1.0 + 1e-12))
                fail(t, h, "step size underflow: a step of |h| <= " + num(h_min) +
                               " was rejected (error ratio " + num(ratio) + ")", ratio);
        }

        // ---- next step size, within [h_min, max_step] -----------------------------------
        double h_next = decision.h_next;
        if (std::abs(h_next) > opt_.max_step) h_next = dir_ * opt_.max_step;
        if (std::abs(h_next) < h_min) h_next = dir_ * h_min;
        // After the last step: what a continuing solve should start with. A last step cut short
        // to land on t_end says little about the solution's scale; the plan before the cut does.
        if (next_ < ts_.size()) {
            // A step cut short for a jump was accepted at a size the error did not ask for; the
            // plan before the cut is the better guess for the step after the jump.
            h = decision.accept && cut_for_jump && std::abs(h_next) < std::abs(planned) ? planned : h_next;
        } else {
            sol_.next_step = std::abs(h == planned ? h_next : planned);
        }
    }
}

}  // namespace detail

}  // namespace odenet::ode
