#pragma once
// Dense output inside an accepted step [t, t + h]: the method's own continuous extension
// (dopri5, tsit5, dop853) or cubic Hermite (every other method), so that output times never
// shorten a step.
#include "odenet/ode/rk_step.hpp"

namespace odenet::ode {

/// w_j(theta) for every dense stage j into w (tableau.dense.poly.size() values), by Horner.
void dense_weights(const DenseTableau& dense, double theta, double* w);

/// Makes f1 and the extra dense stages of the step from (t, y0) of size h available, evaluating
/// them if needed (counted in stats.nfe). f1 is the next step's first stage, so for methods
/// without FSAL the evaluation is not wasted.
template <class State, class F>
void prepare_dense(F& f, double t, const State& y0, double h, StageCache<State>& cache, SolveStats& stats) {
    const ButcherTableau& tab = cache.tableau();
    if (!cache.f1_valid) {
        eval_rhs(f, t + h, cache.y_new, cache.f1(), h, stats);
        cache.f1_valid = true;
    }
    if (cache.extras_valid) return;
    const int s = cache.stages();
    for (std::size_t i = 0; i < tab.dense.c_extra.size(); ++i) {
        apply_row(cache.y_stage, &y0, h, cache.extra_rows[i]);
        eval_rhs(f, t + tab.dense.c_extra[i] * h, cache.y_stage, cache.k[s + 1 + i], h, stats);
    }
    cache.extras_valid = true;
}

/// out = y(t + theta h) for theta in [0, 1]; call prepare_dense first.
template <class State>
void dense_eval(const State& y0, double h, double theta, StageCache<State>& cache, State& out) {
    dense_weights(cache.tableau().dense, theta, cache.dense_row.coef.data());
    apply_row(out, &y0, h, cache.dense_row);
}

}  // namespace odenet::ode
