#pragma once
// solve() over a type-erased right-hand side, compiled once in the library: a caller pays no
// compile time for the integrator (solve.hpp instantiates it afresh in every file and for every
// lambda type), and a call through std::function costs nanoseconds beside a tensor evaluation.
// odeint's forward and backward solves over tensors use it.
#include <functional>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/ode/options.hpp"
#include "odenet/ode/solution.hpp"

namespace odenet::ode {

/// dy/dt = f(t, y) over tensors of one element type.
template <class T>
using TensorRhs = std::function<Tensor<T>(double t, const Tensor<T>& y)>;

/// solve(f, y0, ts, options), with the integrator compiled in ode/src/solve_compiled.cpp.
Solution<Tensor<float>> solve_compiled(const TensorRhs<float>& f, const Tensor<float>& y0,
                                       const std::vector<double>& ts, const Options& options = {});
Solution<Tensor<double>> solve_compiled(const TensorRhs<double>& f, const Tensor<double>& y0,
                                        const std::vector<double>& ts, const Options& options = {});

}  // namespace odenet::ode
