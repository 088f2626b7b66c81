// The MNIST run's log.csv columns, reading a log back, and the plots drawn from it.
#include "run_log.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "odenet/util/plot.hpp"

namespace odenet::mnist {

namespace util = odenet::util;

namespace {

const std::vector<std::string> kColumns = {"epoch",       "lr",          "train_loss",     "train_acc",
                                           "test_loss",   "test_acc",    "nfe_forward",    "nfe_backward",
                                           "test_nfe",    "epoch_seconds", "images_per_second", "eval_seconds"};

std::size_t column(const std::string& name) {
    return static_cast<std::size_t>(std::find(kColumns.begin(), kColumns.end(), name) - kColumns.begin());
}

util::Series series(const std::vector<std::vector<double>>& rows, const std::string& label, const std::string& name) {
    util::Series s{label};
    for (const auto& r : rows) {
        s.x.push_back(r[column("epoch")]);
        s.y.push_back(r[column(name)]);
    }
    return s;
}

}  // namespace

const std::vector<std::string>& log_columns() { return kColumns; }

// The rows of an existing log (to redraw the plots of a resumed run).
std::vector<std::vector<double>> read_log(const std::string& path) {
    std::vector<std::vector<double>> rows;
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line)) return rows;
    while (std::getline(in, line)) {
        std::vector<double> row;
        std::stringstream ss(line);
        std::string field;
        while (std::getline(ss, field, ',')) row.push_back(std::strtod(field.c_str(), nullptr));
        if (row.size() == kColumns.size()) rows.push_back(std::move(row));
    }
    return rows;
}

void draw_plots(const std::vector<std::vector<double>>& rows, const std::string& out) {
    util::line_plot({series(rows, "train", "train_loss"), series(rows, "test", "test_loss")},
                  {.log_y = true, .title = "cross-entropy", .x_label = "epoch"})
        .save_png(out + "/loss.png");
    util::line_plot({series(rows, "train", "train_acc"), series(rows, "test", "test_acc")},
                  {.title = "accuracy", .x_label = "epoch"})
        .save_png(out + "/accuracy.png");
    util::line_plot({series(rows, "forward (train)", "nfe_forward"), series(rows, "backward (train)", "nfe_backward"),
                   series(rows, "forward (test)", "test_nfe")},
                  {.title = "function evaluations per batch", .x_label = "epoch"})
        .save_png(out + "/nfe.png");
}

}  // namespace odenet::mnist
