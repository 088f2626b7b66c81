#pragma once
// The MNIST run's log (log.csv) and its plots: internal to the example (run_log.cpp).
#include <string>
#include <vector>

namespace odenet::mnist {

/// log.csv's columns, in order: epoch, lr, train and test loss and accuracy, NFE, timings.
const std::vector<std::string>& log_columns();

/// The rows of an existing log, to redraw the plots of a resumed run; rows of another width are
/// skipped. An unreadable or empty file gives no rows.
std::vector<std::vector<double>> read_log(const std::string& path);

/// loss.png, accuracy.png and nfe.png in `out`, from the log's rows.
void draw_plots(const std::vector<std::vector<double>>& rows, const std::string& out);

}  // namespace odenet::mnist
