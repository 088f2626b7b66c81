#pragma once
// What solve() returns.
#include <vector>

#include "odenet/ode/stats.hpp"

namespace odenet::ode {

template <class State>
struct Solution {
    std::vector<double> ts;  ///< the requested output times
    std::vector<State> ys;   ///< ys[i] is the state at ts[i]; ys[0] == y0
    SolveStats stats;
    /// With Options::save_steps: the end time and state of every accepted step, in order (the
    /// last is ts.back()); empty otherwise.
    std::vector<double> step_ts;
    std::vector<State> step_ys;
    /// |h| the controller planned for the step after the last one, before that last step was cut
    /// to land on ts.back(): a first_step for a solve that continues from there without a new
    /// starting-step search (0 after fixed steps).
    double next_step = 0.0;
};

}  // namespace odenet::ode
