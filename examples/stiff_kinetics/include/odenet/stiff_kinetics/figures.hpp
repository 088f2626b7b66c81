#pragma once
// The example's pictures (util::line_plot): the data and the curves of the initial guess and of
// the fit on a log time axis, the recovered rates over the iterations, the loss.
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"
#include "odenet/stiff_kinetics/robertson.hpp"

namespace odenet::stiff_kinetics {

/// Species curves on a grid of times: ys (len(ts), 3).
struct Curve {
    std::vector<double> ts;
    Tensor<double> ys;
};

/// The observations (markers), the initial guess's curves (light) and the fit's (full colour),
/// y2 multiplied by 1e4 as is customary so that the three share one axis; t on a log axis.
void save_fit_figure(const std::string& path, const Dataset& data, const Curve& start, const Curve& fit);

/// k_i / k_i,true against the iteration, log scale; rates[it] holds the rates after iteration
/// it + 1 (rates[0] may be the start, as the caller decides: x runs from first_iteration).
void save_rates_figure(const std::string& path, const std::vector<Rates>& rates, const Rates& truth, double first_iteration);

/// The loss against the iteration, log scale, with the loss of the true rates on the same data
/// (the noise floor) as a flat line.
void save_loss_figure(const std::string& path, const std::vector<double>& losses, double true_loss);

}  // namespace odenet::stiff_kinetics
