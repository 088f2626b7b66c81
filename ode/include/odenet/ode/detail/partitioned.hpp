#pragma once
// The fixed-step loop of the symplectic splitting methods behind solve() (see Note [Symplectic
// methods in the solver API] in symplectic.hpp). Internal: use solve() with Method::leapfrog or
// Method::yoshida4.
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/ode/detail/integrator.hpp"  // check_times, num
#include "odenet/ode/options.hpp"
#include "odenet/ode/rk_step.hpp"
#include "odenet/ode/solution.hpp"
#include "odenet/ode/state_ops.hpp"
#include "odenet/ode/symplectic.hpp"

namespace odenet::ode::detail {

/// States whose elements are one contiguous array (the halves q and p are taken from it).
template <class State>
concept ContiguousState = requires(State& x) { StateOps<State>::data(x); };

/// States that update a range of their elements themselves (autodiff's Var, which records it;
/// see odeint/var_state.hpp): StateOps<State>::half_axpy(x, a, k, begin, end).
template <class State>
concept HalfAxpyState = requires(State& x, const State& k) { StateOps<State>::half_axpy(x, 1.0, k, 0, 1); };

/// x[i] += a k[i] over the flat range [begin, end): one half of a kick or a drift.
template <class State>
void half_axpy(State& x, double a, const State& k, std::size_t begin, std::size_t end) {
    using Ops = StateOps<State>;
    if constexpr (HalfAxpyState<State>) {
        Ops::half_axpy(x, a, k, begin, end);
    } else {
        auto* xp = Ops::data(x);
        const auto* kp = Ops::data(k);
        using T = std::remove_cvref_t<decltype(*xp)>;
        const T c = static_cast<T>(a);
        for (std::size_t i = begin; i < end; ++i) xp[i] += c * kp[i];
    }
}

template <class State, class F>
class PartitionedIntegrator {
public:
    using Ops = StateOps<State>;

    PartitionedIntegrator(F& f, const State& y0, const std::vector<double>& ts, const Options& options)
        : f_(f), ts_(ts), opt_(options), scheme_(splitting(options.method)), y_(y0), k_(Ops::zeros_like(y0)) {
        const std::string name(method_name(options.method));
        if (!(options.step_size > 0.0))
            throw ValueError("solve", name + " is a fixed-step method: set Options::step_size > 0 (it has no "
                                             "error estimate to choose steps with)");
        n_ = Ops::size(y0);
        if (n_ % 2 != 0)
            throw ValueError("solve", name + " needs a state of (q, p) halves, an even number of elements; got " +
                                          std::to_string(n_) + " elements");
        dir_ = check_times(ts);
        sol_.ts = ts;
        sol_.ys.reserve(ts.size());
        sol_.ys.push_back(y0);
    }

    Solution<State> run() {
        check_finite(ts_.front(), 0.0, "the initial state y0");
        for (std::size_t i = 0; i + 1 < ts_.size(); ++i) {
            const double ta = ts_[i], tb = ts_[i + 1], h = dir_ * opt_.step_size;
            // Steps ta + j h by multiplication (no drift in t); the last ends at tb. The 1e-9
            // keeps a span that is a multiple of h from getting an extra, tiny step.
            const auto n = static_cast<std::size_t>(std::max(1.0, std::ceil((tb - ta) / h - 1e-9)));
            for (std::size_t j = 0; j < n; ++j) {
                const double t = ta + static_cast<double>(j) * h;
                const double t_next = j + 1 == n ? tb : ta + static_cast<double>(j + 1) * h;
                step(t, t_next);
            }
            sol_.ys.push_back(y_);
        }
        return std::move(sol_);
    }

private:
    // One kick-drift-kick step from t to t_next. k_ holds F_p at the current q when kick_valid_
    // (the last kick's evaluation, shared with this step's first kick).
    void step(double t, double t_next) {
        const double h = t_next - t;
        if (sol_.stats.accepted >= opt_.max_steps)
            throw SolverError("solve", t, h, "maximum number of steps (" + std::to_string(opt_.max_steps) +
                                                 ") reached before t = " + num(ts_.back()));
        const std::size_t half = n_ / 2;
        if (!kick_valid_) eval_rhs(f_, t, y_, k_, h, sol_.stats);
        half_axpy(y_, scheme_.kick[0] * h, k_, half, n_);
        double t_q = t;  // the time the q half has reached
        for (std::size_t i = 0; i < scheme_.drift.size(); ++i) {
            eval_rhs(f_, t_q, y_, k_, h, sol_.stats);  // its q half, dH/dp, reads only p
            half_axpy(y_, scheme_.drift[i] * h, k_, 0, half);
            t_q = i + 1 == scheme_.drift.size() ? t_next : t_q + scheme_.drift[i] * h;
            eval_rhs(f_, t_q, y_, k_, h, sol_.stats);  // its p half, -dH/dq, reads only q
            half_axpy(y_, scheme_.kick[i + 1] * h, k_, half, n_);
        }
        kick_valid_ = true;
        check_finite(t, h, "the new state y(t + h)");
        ++sol_.stats.accepted;
        if (opt_.step_callback) opt_.step_callback(StepInfo{t, h, 0.0, true});
        if (opt_.save_steps) {
            sol_.step_ts.push_back(t_next);
            sol_.step_ys.push_back(y_);
        }
    }

    void check_finite(double t, double h, const char* what) const {
        const std::size_t i = Ops::first_nonfinite(y_);
        if (i == kNpos) return;
        throw SolverError("solve", t, h, std::string("non-finite value ") + num(Ops::value_at(y_, i)) + " in " +
                                             what + " at flat index " + std::to_string(i) +
                                             (i < n_ / 2 ? " (q half)" : " (p half)"), i);
    }

    F& f_;
    const std::vector<double>& ts_;
    const Options& opt_;
    const SplittingScheme& scheme_;
    State y_, k_;
    Solution<State> sol_;
    std::size_t n_ = 0;
    double dir_ = 1.0;
    bool kick_valid_ = false;
};

/// solve() for Method::leapfrog and Method::yoshida4.
template <class State, class F>
Solution<State> solve_symplectic(F& f, const State& y0, const std::vector<double>& ts, const Options& options) {
    if constexpr (ContiguousState<State> || HalfAxpyState<State>) {
        PartitionedIntegrator<State, F> integrator(f, y0, ts, options);
        return integrator.run();
    } else {
        throw ValueError("solve", std::string(method_name(options.method)) +
                                      " runs over contiguous states (Tensor, std::vector, std::array) or states "
                                      "whose StateOps has half_axpy (Var); this state type has neither");
    }
}

}  // namespace odenet::ode::detail
