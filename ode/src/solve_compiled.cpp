// The integrator's instances for tensor states (solve_compiled.hpp).
#include "odenet/ode/solve_compiled.hpp"

#include "odenet/ode/solve.hpp"

namespace odenet::ode {

Solution<Tensor<float>> solve_compiled(const TensorRhs<float>& f, const Tensor<float>& y0,
                                       const std::vector<double>& ts, const Options& options) {
    return solve(f, y0, ts, options);
}
Solution<Tensor<double>> solve_compiled(const TensorRhs<double>& f, const Tensor<double>& y0,
                                        const std::vector<double>& ts, const Options& options) {
    return solve(f, y0, ts, options);
}

}  // namespace odenet::ode
