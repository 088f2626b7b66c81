#pragma once
// One generic explicit Runge-Kutta step over any State (see Note [State requirements] in
// state_ops.hpp), driven by a ButcherTableau. The stage buffers live in a StageCache that a
// solve allocates once, so a step on the fast path allocates nothing.
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "odenet/core/error.hpp"
#include "odenet/ode/state_ops.hpp"
#include "odenet/ode/stats.hpp"
#include "odenet/ode/tableau.hpp"

namespace odenet::ode {

std::string shape_message(const std::vector<std::size_t>& got, const std::vector<std::size_t>& want);

/// Evaluates f(t, y) into out, counting it. f is either `State f(double t, const State& y)` or
/// `void f(double t, const State& y, State& dydt)` (in place: no allocation, Boost.Odeint's
/// form with the arguments in diffrax's order). Throws SolverError at (t, h) when f's output has
/// another shape than y.
template <class State, class F>
void eval_rhs(F& f, double t, const State& y, State& out, double h, SolveStats& stats) {
    using Ops = StateOps<State>;
    if constexpr (std::is_invocable_v<F&, double, const State&, State&>)
        f(t, y, out);
    else
        out = f(t, y);
    ++stats.nfe;
    if (!Ops::same_shape(out, y))
        throw SolverError("solve", t, h,
                          "shape mismatch: f(t, y) returned " + shape_message(Ops::shape(out), Ops::shape(y)));
}

/// Stage buffers and the tableau's nonzero coefficients in the form the kernels take
/// (coefficient and stage-pointer arrays per row), built once per solve. Not copyable: the rows
/// point into k.
template <class State>
class StageCache {
public:
    /// One linear combination: sum_j coef[j] * (*ks[j]).
    struct Row {
        std::vector<double> coef;
        std::vector<const State*> ks;
        int size() const { return static_cast<int>(coef.size()); }
    };

    StageCache(const ButcherTableau& tab, const State& like) : tab_(&tab), s_(tab.stages()), fsal_(tab.fsal()) {
        using Ops = StateOps<State>;
        const int extra = static_cast<int>(tab.dense.c_extra.size());
        for (int j = 0; j < s_ + 1 + extra; ++j) k.push_back(Ops::zeros_like(like));
        y_stage = Ops::zeros_like(like);
        y_new = Ops::zeros_like(like);
        err = Ops::zeros_like(like);
        if (!tab.b_err_low.empty()) err_low = Ops::zeros_like(like);
        for (int i = 0; i < s_; ++i) stage_rows.push_back(row(tab.a[i]));
        b_row = row(tab.b);
        err_row = row(tab.b_err);
        err_low_row = row(tab.b_err_low);
        for (const auto& a : tab.dense.a_extra) extra_rows.push_back(row(a));
        for (int j = 0; j < s_ + 1 + extra; ++j) dense_row.ks.push_back(dense_stage(j));
        dense_row.coef.assign(dense_row.ks.size(), 0.0);
    }
    StageCache(const StageCache&) = delete;
    StageCache& operator=(const StageCache&) = delete;

    const ButcherTableau& tableau() const { return *tab_; }
    int stages() const { return s_; }
    bool fsal() const { return fsal_; }  ///< the tableau's fsal(), computed once
    /// Dense stage j (see the numbering in tableau.hpp): f1 is stage s-1 for FSAL methods.
    const State* dense_stage(int j) const { return (j == s_ && fsal_) ? &k[s_ - 1] : &k[j]; }
    State& f1() { return fsal_ ? k[s_ - 1] : k[s_]; }

    std::vector<State> k;  ///< k[0..s-1] stages, k[s] f1 (non-FSAL), k[s+1..] dense extras
    State y_stage, y_new, err, err_low;
    std::vector<Row> stage_rows, extra_rows;
    Row b_row, err_row, err_low_row, dense_row;
    bool f1_valid = false;      ///< f1 holds f(t + h, y_new) for the last accepted step
    bool extras_valid = false;  ///< the dense extras hold the last accepted step's

private:
    Row row(const std::vector<double>& coefs) const {
        Row r;
        for (std::size_t j = 0; j < coefs.size(); ++j)
            if (coefs[j] != 0.0) {
                r.coef.push_back(coefs[j]);
                r.ks.push_back(dense_stage(static_cast<int>(j)));
            }
        return r;
    }
    const ButcherTableau* tab_;
    int s_;
    bool fsal_;
};

/// Out = y + h * row, through StateOps::lincomb.
template <class State>
void apply_row(State& out, const State* y, double h, const typename StageCache<State>::Row& r) {
    StateOps<State>::lincomb(out, y, h, r.coef.data(), r.ks.data(), r.size());
}

/// One step of size h from (t, y), given cache.k[0] = f(t, y). Fills cache.k[1..s-1],
/// cache.y_new and, for embedded pairs, cache.err = h sum b_err_j k_j (and err_low for dop853).
/// For FSAL methods the last stage is f(t + h, y_new), i.e. the next step's k[0].
template <class State, class F>
void rk_step(F& f, double t, const State& y, double h, StageCache<State>& cache, SolveStats& stats) {
    const ButcherTableau& tab = cache.tableau();
    const int s = cache.stages();
    const bool fsal = cache.fsal();
    for (int i = 1; i < s; ++i) {
        // The FSAL stage's argument is y_new itself: compute it there and save a pass.
        State& arg = (fsal && i == s - 1) ? cache.y_new : cache.y_stage;
        apply_row(arg, &y, h, cache.stage_rows[i]);
        eval_rhs(f, t + tab.c[i] * h, arg, cache.k[i], h, stats);
    }
    if (!fsal) apply_row(cache.y_new, &y, h, cache.b_row);
    if (tab.adaptive()) apply_row<State>(cache.err, nullptr, h, cache.err_row);
    if (!tab.b_err_low.empty()) apply_row<State>(cache.err_low, nullptr, h, cache.err_low_row);
    cache.f1_valid = fsal;
    cache.extras_valid = false;
}

}  // namespace odenet::ode
