// cde: neural controlled differential equations (Kidger, Morrill, Foster and Lyons, NeurIPS 2020)
// on irregularly sampled data. Two-dimensional noisy spirals, 30% of each one's points dropped at
// random, are classified as clockwise or counter-clockwise by a neural CDE that reads them as a
// continuous path, against a GRU fed the time gaps (GRU-Δt) and an ODE-RNN (Rubanova et al. 2019).
// Every model trains on the same spirals and batches, to the same number of epochs.
//
//   build/examples/cde/cde --out out/cde
//
// Writes into --out: results.csv (per model: parameters, test and training accuracy, seconds per
// epoch, mean forward and backward NFE per batch), curves.csv (per model and epoch: mean training
// loss, test accuracy, seconds), paths.png (test spirals with the splines the CDE reads),
// accuracy.png and loss.png (all models on one plot).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <CLI/CLI.hpp>

#include "odenet/cde/figures.hpp"
#include "odenet/cde/models.hpp"
#include "odenet/cde/spirals.hpp"
#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace ex = odenet::examples;
namespace cd = odenet::cde;
using on::Var;

namespace {

struct Config {
    std::string models = "cde,gru_dt,ode_rnn", method = "dopri5", grad = "adjoint", dtype = "float64", out = "out/cde";
    std::size_t epochs = 30, batch_size = 32, train = 1000, test = 1000, points = 100, seed = 0, threads = 1;
    double lr = 3e-3, rtol = 1e-3, atol = 1e-5, drop = 0.3, noise = 0.3;
    bool overwrite = false, step_across_knots = false;
};

const std::vector<std::string> kOutputs = {"results.csv", "curves.csv", "paths.png", "accuracy.png", "loss.png"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) items.push_back(item);
    return items;
}

double accuracy(const Var& logits, const std::vector<std::size_t>& labels) {
    const on::Tensor<double> l = on::to_dtype(logits, on::Dtype::float64).value<double>();
    std::size_t right = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) right += (l(i, 1) > l(i, 0) ? 1u : 0u) == labels[i];
    return double(right) / double(labels.size());
}

// Accuracy on a whole set, in batches of `chunk` spirals, nothing recorded.
double evaluate(cd::Classifier& model, const cd::Spirals& set, std::size_t chunk) {
    on::NoGradGuard no_grad;
    double right = 0;
    for (std::size_t start = 0; start < set.labels.size(); start += chunk) {
        std::vector<std::size_t> rows;
        for (std::size_t i = start; i < std::min(set.labels.size(), start + chunk); ++i) rows.push_back(i);
        const cd::Spirals b = cd::select(set, rows);
        right += accuracy(model.logits(b), b.labels) * double(rows.size());
    }
    return right / double(set.labels.size());
}

struct Outcome {
    std::string model;
    std::size_t parameters = 0;
    double test_accuracy = 0, train_accuracy = 0, seconds_per_epoch = 0, nfe_forward = 0, nfe_backward = 0;
    std::vector<double> losses{}, accuracies{}, seconds{};
};

Outcome train_one(const std::string& kind, const Config& c, const cd::Spirals& train, const cd::Spirals& test, on::Dtype dtype) {
    on::manual_seed(c.seed);
    cd::ModelOptions mo{.kind = kind, .dtype = dtype, .stop_at_knots = !c.step_across_knots};
    mo.odeint = {.solver = {.method = on::ode::method_from_name(c.method), .rtol = c.rtol, .atol = c.atol},
                 .grad = on::ode::grad_from_name(c.grad)};
    auto model = cd::make_classifier(mo);
    on::optim::Adam optimizer(model->parameters(), {.lr = c.lr});
    Outcome o{.model = kind, .parameters = model->parameter_count()};
    std::printf("%s: %zu parameters\n", kind.c_str(), o.parameters);
    std::fflush(stdout);
    const std::size_t batches = (c.train + c.batch_size - 1) / c.batch_size;
    on::util::ProgressBar bar(c.epochs * batches, kind);
    double nfe_f = 0, nfe_b = 0, train_seconds = 0;
    std::size_t counted = 0;
    on::Generator shuffle(c.seed * 7919u + 3u);  // the same batches for every model
    for (std::size_t epoch = 1; epoch <= c.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<std::size_t> order = on::choice(c.train, c.train, false, shuffle);
        double loss_sum = 0;
        for (std::size_t k = 0; k < batches; ++k) {
            std::vector<std::size_t> rows(order.begin() + long(k * c.batch_size),
                                          order.begin() + long(std::min(c.train, (k + 1) * c.batch_size)));
            const cd::Spirals b = cd::select(train, rows);
            const Var logits = model->logits(b);
            const Var loss = on::nn::functional::cross_entropy(logits, b.labels);
            const double value = on::to_dtype(loss, on::Dtype::float64).item();
            if (!std::isfinite(value))
                throw on::ValueError("cde", kind + ": the training loss became " + std::to_string(value) + " in epoch " +
                                                std::to_string(epoch) + "; try a smaller --lr");
            optimizer.zero_grad();
            on::backward(loss);
            const auto named = model->named_parameters();
            if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("cde", kind + ": the gradient of " + *bad);
            optimizer.step();
            if (auto bad = ex::first_nonfinite_value(named))
                throw on::ValueError("cde", kind + ": after the optimizer step, parameter " + *bad);
            loss_sum += value;
            const double f = double(model->forward_stats().nfe), bw = double(model->backward_stats().nfe);
            nfe_f += f, nfe_b += bw, ++counted;
            bar.update((epoch - 1) * batches + k + 1, {{"epoch", epoch}, {"loss", value}, {"nfe_f", std::size_t(f)}, {"nfe_b", std::size_t(bw)}});
        }
        const double secs = seconds_since(start);
        train_seconds += secs;
        o.losses.push_back(loss_sum / double(batches));
        o.accuracies.push_back(evaluate(*model, test, 250));
        o.seconds.push_back(secs);
        bar.write("  " + kind + " epoch " + std::to_string(epoch) + ": mean loss " + std::to_string(o.losses.back()) +
                  ", test accuracy " + std::to_string(100 * o.accuracies.back()) + "%, " + std::to_string(secs) + " s");
    }
    bar.finish();
    o.test_accuracy = o.accuracies.back();
    o.train_accuracy = evaluate(*model, train, 250);
    o.seconds_per_epoch = train_seconds / double(c.epochs);
    o.nfe_forward = nfe_f / double(counted), o.nfe_backward = nfe_b / double(counted);
    std::printf("%s: test accuracy %.2f%%, training accuracy %.2f%%, %.2f s per epoch, NFE per batch %.0f forward, %.0f backward\n",
                kind.c_str(), 100 * o.test_accuracy, 100 * o.train_accuracy, o.seconds_per_epoch, o.nfe_forward, o.nfe_backward);
    std::fflush(stdout);
    return o;
}

void write_outputs(const fs::path& dir, const std::vector<Outcome>& outcomes, const cd::Spirals& test, on::Dtype dtype) {
    std::string results = "model,parameters,test_accuracy,train_accuracy,seconds_per_epoch,nfe_forward_per_batch,nfe_backward_per_batch\n";
    std::string curves = "model,epoch,mean_training_loss,test_accuracy,seconds\n";
    std::vector<cd::Curve> acc, loss;
    for (const Outcome& o : outcomes) {
        char row[256];
        std::snprintf(row, sizeof row, "%s,%zu,%.6f,%.6f,%.4f,%.1f,%.1f\n", o.model.c_str(), o.parameters, o.test_accuracy,
                      o.train_accuracy, o.seconds_per_epoch, o.nfe_forward, o.nfe_backward);
        results += row;
        for (std::size_t e = 0; e < o.losses.size(); ++e) {
            std::snprintf(row, sizeof row, "%s,%zu,%.8g,%.6f,%.4f\n", o.model.c_str(), e + 1, o.losses[e], o.accuracies[e], o.seconds[e]);
            curves += row;
        }
        std::vector<double> percent;
        for (double a : o.accuracies) percent.push_back(100 * a);
        acc.push_back({o.model, percent});
        loss.push_back({o.model, o.losses});
    }
    on::nn::write_file_atomic((dir / "results.csv").string(), results);
    on::nn::write_file_atomic((dir / "curves.csv").string(), curves);
    // Three spirals of each direction from the test set.
    std::vector<std::size_t> rows;
    for (std::size_t want : {1u, 0u}) {
        std::size_t found = 0;
        for (std::size_t i = 0; i < test.labels.size() && found < 3; ++i)
            if (test.labels[i] == want) rows.push_back(i), ++found;
    }
    const cd::Spirals shown = cd::select(test, rows);
    cd::save_paths_figure((dir / "paths.png").string(), shown, cd::spiral_path(shown, dtype));
    cd::save_curves((dir / "accuracy.png").string(), "test accuracy (%)", acc, false);
    cd::save_curves((dir / "loss.png").string(), "mean training loss (cross-entropy)", loss, true);
}

int run(const Config& c) {
    const fs::path dir(c.out);
    // The data first: a combination of flags it refuses (--drop leaving fewer than 2 of --points)
    // must fail before the folder is touched.
    const cd::SpiralOptions train_options{.count = c.train, .points = c.points, .drop = c.drop, .noise = c.noise};
    cd::SpiralOptions test_options = train_options;
    test_options.count = c.test;
    const cd::Spirals train = cd::make_spirals(train_options, c.seed), test = cd::make_spirals(test_options, c.seed + 1);
    ex::prepare_run_folder({.program = "cde", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
    on::set_num_threads(int(c.threads));
    const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
    std::printf("cde: %zu training and %zu test spirals, %zu grid points over [0, %g] with %.0f%% dropped, noise %g; "
                "batch %zu, %zu epochs, %s rtol %g atol %g, %s gradients, %s%s\n",
                c.train, c.test, c.points, train_options.duration, 100 * c.drop, c.noise, c.batch_size, c.epochs, c.method.c_str(),
                c.rtol, c.atol, c.grad.c_str(), c.dtype.c_str(), c.step_across_knots ? ", stepping across knots" : "");
    std::fflush(stdout);
    std::vector<Outcome> outcomes;
    for (const std::string& kind : split(c.models)) outcomes.push_back(train_one(kind, c, train, test, dtype));
    write_outputs(dir, outcomes, test, dtype);
    std::printf("\n| model | parameters | test accuracy | s / epoch | NFE / batch (fwd, bwd) |\n| --- | --- | --- | --- | --- |\n");
    for (const Outcome& o : outcomes)
        std::printf("| %s | %zu | %.1f%% | %.2f | %.0f, %.0f |\n", o.model.c_str(), o.parameters, 100 * o.test_accuracy,
                    o.seconds_per_epoch, o.nfe_forward, o.nfe_backward);
    std::printf("wrote %s/{results.csv,curves.csv,paths.png,accuracy.png,loss.png}\n", c.out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    on::tune_heap_for_training();
    CLI::App app{"Neural CDEs on irregularly sampled spirals (Kidger, Morrill, Foster and Lyons 2020) against GRU-dt and ODE-RNN"};
    ex::one_line_errors(app, "cde");
    Config c;
    const ex::Interval positive{.lo = 0, .lo_open = true}, tolerance{.lo = 0, .hi = 1, .lo_open = true};
    app.add_option("--models", c.models, "comma-separated models to train: cde, gru_dt, ode_rnn")
        ->check(ex::name_list(1, 3, cd::model_names()))->capture_default_str();
    ex::add_whole(app, "--epochs", c.epochs, 1, 100000, "training epochs per model");
    ex::add_whole(app, "--batch-size", c.batch_size, 1, 100000, "spirals per batch");
    ex::add_whole(app, "--train", c.train, 2, 1000000, "training spirals");
    ex::add_whole(app, "--test", c.test, 2, 1000000, "test spirals");
    ex::add_whole(app, "--points", c.points, 4, 100000, "grid points per spiral before the drop");
    ex::add_whole(app, "--seed", c.seed, 0, 1000000000000LL, "random seed (data, weights, batches)");
    ex::add_whole(app, "--threads", c.threads, 1, 1024, "odenet threads");
    app.add_option("--lr", c.lr, "Adam learning rate")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--drop", c.drop, "fraction of each spiral's points dropped, in [0, 0.9]")
        ->check(ex::finite_number({.lo = 0, .hi = 0.9}))->capture_default_str();
    app.add_option("--noise", c.noise, "standard deviation of the observation noise, in [0, 10]")
        ->check(ex::finite_number({.lo = 0, .hi = 10}))->capture_default_str();
    app.add_option("--method", c.method, "ODE solver of the cde and ode_rnn models: an adaptive Runge-Kutta method")
        ->check(CLI::IsMember({"dopri5", "tsit5", "bosh3", "dop853", "fehlberg2"}))->capture_default_str();
    app.add_option("--rtol", c.rtol, "ODE relative tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--atol", c.atol, "ODE absolute tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--grad", c.grad, "gradients through the ODE solves: adjoint, checkpointed or direct")
        ->check(CLI::IsMember({"adjoint", "checkpointed", "direct"}))->capture_default_str();
    app.add_option("--dtype", c.dtype, "float64 or float32")->check(CLI::IsMember({"float64", "float32"}))->capture_default_str();
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--step-across-knots", c.step_across_knots,
                 "cde: let the solver step across the spline's knots instead of stopping at each (cheaper at loose tolerances; "
                 "docs/PERFORMANCE.md)");
    app.add_flag("--overwrite", c.overwrite, "replace the run in --out");
    CLI11_PARSE(app, argc, argv);
    try {
        return run(c);
    } catch (const std::exception& e) {
        const std::string what = e.what();  // the program's own errors already start with its name
        std::fprintf(stderr, "%s%s\n", what.starts_with("cde: ") ? "" : "cde: ", what.c_str());
        return 1;
    }
}
