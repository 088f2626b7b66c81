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
};

}  // namespace odenet::ode
