// augmented: Augmented Neural ODEs (Dupont, Doucet and Teh, NeurIPS 2019), the 2-D concentric
// task of their section 4.1: points in a disc labelled -1 and in a ring around it labelled +1. A
// plain Neural ODE (p = 0) has to push the disc through the ring to separate them, which a flow of
// the plane cannot do; with p extra zero features (p = 1, 2, 5) it can lift the disc out of the
// way. Every p is trained from the same data, initial seed and batches, to the same budget.
//
//   build/examples/augmented/augmented --augment 0,1,2,5 --out out/augmented
//
// Writes into --out: log.csv (per iteration and p: Huber loss and accuracy of the batch, forward
// and backward NFE, seconds), result.csv (per p: loss and accuracy on the whole training set,
// accuracy on a held-out set, mean NFE over the last 10% of iterations, seconds), flow.png (where
// the flow takes held-out points, per p), nfe.png and loss.png (all p on one plot).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <CLI/CLI.hpp>

#include "odenet/augmented/concentric.hpp"
#include "odenet/augmented/figures.hpp"
#include "odenet/augmented/model.hpp"
#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace ex = odenet::examples;
namespace ag = odenet::augmented;
using on::Var;

namespace {

struct Config {
    std::string augment = "0,1,2,5", grad = "adjoint", dtype = "float64", out = "out/augmented";
    std::size_t iters = 20000, batch_size = 64, hidden = 32, n = 3000, seed = 0, threads = 1;
    double lr = 1e-3, rtol = 1e-3, atol = 1e-3;
    bool overwrite = false;
};

const std::vector<std::string> kOutputs = {"log.csv", "result.csv", "flow.png", "nfe.png", "loss.png"};
constexpr std::size_t kFigurePoints = 1000;  // held-out points drawn per panel of flow.png

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::size_t> augment_list(const std::string& text) {
    std::vector<std::size_t> ps;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) ps.push_back(std::stoul(item));  // validated at parse time
    return ps;
}

// The batch of iteration `it`: from its own generator, so that every p sees the same batches.
std::vector<std::size_t> batch_rows(const Config& c, std::size_t it) {
    on::Generator gen(c.seed * 1000003u + it * 7919u + 17u);
    return on::choice(c.n, std::min(c.batch_size, c.n), false, gen);
}

std::vector<std::size_t> all_rows(std::size_t n) {
    std::vector<std::size_t> rows(n);
    for (std::size_t i = 0; i < n; ++i) rows[i] = i;
    return rows;
}

struct Evaluation {
    double loss = 0, accuracy = 0;
};

Evaluation evaluate(ag::Classifier& model, const ag::Concentric& data, on::Dtype dtype) {
    on::NoGradGuard no_grad;
    const ag::Batch b = ag::gather(data, all_rows(data.y.size()));
    const Var scores = model.forward(on::to_dtype(Var(b.x), dtype));
    const Var loss = ag::huber_loss(scores, on::to_dtype(Var(b.y), dtype));
    return {on::to_dtype(loss, on::Dtype::float64).item(),
            ag::accuracy(on::to_dtype(scores, on::Dtype::float64).value<double>(), b.y)};
}

struct Outcome {
    std::size_t p = 0;
    Evaluation train{}, test{};
    double nfe_forward = 0, nfe_backward = 0, seconds = 0;  // NFE: means over the last 10% of iterations
    std::vector<double> losses{}, nfes{};
    ag::FlowPanel panel{};
};

// One training iteration; returns the batch's loss and accuracy. Stops a diverging run naming
// what went wrong.
Evaluation train_step(ag::Classifier& model, on::optim::Optimizer& optimizer, const ag::Batch& b, on::Dtype dtype) {
    const Var scores = model.forward(on::to_dtype(Var(b.x), dtype));
    Var loss = ag::huber_loss(scores, on::to_dtype(Var(b.y), dtype));
    const double value = on::to_dtype(loss, on::Dtype::float64).item();
    if (!std::isfinite(value)) throw on::ValueError("augmented", "the loss became " + std::to_string(value));
    optimizer.zero_grad();
    on::backward(loss);
    const auto named = model.named_parameters();
    if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("augmented", "the gradient of " + *bad);
    optimizer.step();
    if (auto bad = ex::first_nonfinite_value(named)) throw on::ValueError("augmented", "after the optimizer step, parameter " + *bad);
    return {value, ag::accuracy(on::to_dtype(scores, on::Dtype::float64).value<double>(), b.y)};
}

// The held-out points, states at t = 1 and linear map that flow.png draws for this model.
ag::FlowPanel flow_panel(ag::Classifier& model, const ag::Concentric& test, std::size_t p, on::Dtype dtype, double accuracy) {
    on::NoGradGuard no_grad;
    std::vector<std::size_t> rows;
    const std::size_t stride = std::max<std::size_t>(1, test.y.size() / kFigurePoints);  // both classes, in proportion
    for (std::size_t i = 0; i < test.y.size(); i += stride) rows.push_back(i);
    const ag::Batch b = ag::gather(test, rows);
    ag::FlowPanel fp{.p = p, .x0 = b.x, .accuracy = accuracy};
    fp.h1 = on::to_dtype(model.features(on::to_dtype(Var(b.x), dtype)), on::Dtype::float64).value<double>();
    fp.label.assign(b.y.begin(), b.y.end());
    const on::Tensor<double> w = on::to_dtype(model.head().weight, on::Dtype::float64).value<double>();
    fp.w.assign(w.begin(), w.end());
    fp.b = on::to_dtype(model.head().bias, on::Dtype::float64).value<double>()(0);
    return fp;
}

double mean_of_last(const std::vector<double>& v, std::size_t count) {
    double s = 0;
    for (std::size_t k = v.size() - count; k < v.size(); ++k) s += v[k];
    return s / double(count);
}

Outcome train_one(std::size_t p, const Config& c, const ag::Concentric& train, const ag::Concentric& test, on::Dtype dtype,
                  on::util::CsvLog& log) {
    on::manual_seed(c.seed);  // the same initial draws for every p (up to the widths that differ)
    ag::ModelOptions mo{.p = p, .hidden = c.hidden, .dtype = dtype};
    mo.odeint = {.solver = {.rtol = c.rtol, .atol = c.atol}, .grad = on::ode::grad_from_name(c.grad)};
    ag::Classifier model(mo);
    on::optim::Adam optimizer(model.parameters(), {.lr = c.lr});
    std::printf("p = %zu: %zu parameters\n", p, model.parameter_count());
    std::fflush(stdout);
    Outcome o{.p = p};
    std::vector<double> nfe_b;
    const auto start = std::chrono::steady_clock::now();
    on::util::ProgressBar bar(c.iters, "p = " + std::to_string(p));
    for (std::size_t it = 1; it <= c.iters; ++it) {
        const Evaluation e = train_step(model, optimizer, ag::gather(train, batch_rows(c, it)), dtype);
        const double f = double(model.block().last_nfe()), b = double(model.block().last_backward_nfe());
        o.losses.push_back(e.loss), o.nfes.push_back(f), nfe_b.push_back(b);
        log.row({double(p), double(it), e.loss, e.accuracy, f, b, seconds_since(start)});
        bar.update(it, {{"loss", e.loss}, {"acc", e.accuracy}, {"nfe_f", std::size_t(f)}, {"nfe_b", std::size_t(b)}});
    }
    bar.finish();
    o.seconds = seconds_since(start);
    const std::size_t tail = std::max<std::size_t>(1, c.iters / 10);
    o.nfe_forward = mean_of_last(o.nfes, tail), o.nfe_backward = mean_of_last(nfe_b, tail);
    o.train = evaluate(model, train, dtype), o.test = evaluate(model, test, dtype);
    o.panel = flow_panel(model, test, p, dtype, o.test.accuracy);
    std::printf("p = %zu: training loss %.3g, accuracy %.2f%% (training set), %.2f%% (held out); NFE forward %.1f, backward %.1f "
                "(mean of the last %zu iterations); %.1f s\n",
                p, o.train.loss, 100 * o.train.accuracy, 100 * o.test.accuracy, o.nfe_forward, o.nfe_backward, tail, o.seconds);
    std::fflush(stdout);
    return o;
}

void write_results(const fs::path& dir, const std::vector<Outcome>& outcomes, std::size_t iters) {
    std::string csv = "p,iterations,train_loss,train_accuracy,test_accuracy,nfe_forward_last10,nfe_backward_last10,seconds\n";
    for (const Outcome& o : outcomes) {
        char row[256];
        std::snprintf(row, sizeof row, "%zu,%zu,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", o.p, iters, o.train.loss, o.train.accuracy,
                      o.test.accuracy, o.nfe_forward, o.nfe_backward, o.seconds);
        csv += row;
    }
    on::nn::write_file_atomic((dir / "result.csv").string(), csv);
    std::vector<ag::FlowPanel> panels;
    std::vector<ag::Curve> losses, nfes;
    for (const Outcome& o : outcomes) {
        panels.push_back(o.panel);
        losses.push_back({o.p, o.losses}), nfes.push_back({o.p, o.nfes});
    }
    ag::save_flow_figure((dir / "flow.png").string(), panels);
    const std::size_t smooth = std::max<std::size_t>(1, iters / 50);
    ag::save_curves((dir / "loss.png").string(), "training loss (Huber, batch)", losses, smooth, true);
    ag::save_curves((dir / "nfe.png").string(), "forward NFE per iteration", nfes, smooth, false);
}

int run(const Config& c) {
    const fs::path dir(c.out);
    ex::prepare_run_folder({.program = "augmented", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
    on::set_num_threads(int(c.threads));
    const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
    const ag::Concentric train = ag::make_concentric({.count = c.n}, c.seed), test = ag::make_concentric({.count = c.n}, c.seed + 1);
    std::printf("augmented: %zu training points (%zu in the disc |x| <= 0.5, the rest in the ring 1 <= |x| <= 1.5), batch %zu, "
                "%zu iterations per p, hidden %zu, %s gradients, %s\n",
                c.n, train.inner, std::min(c.batch_size, c.n), c.iters, c.hidden, c.grad.c_str(), c.dtype.c_str());
    std::fflush(stdout);
    on::util::CsvLog log((dir / "log.csv").string(),
                         {"p", "iteration", "loss", "accuracy", "nfe_forward", "nfe_backward", "seconds"});
    std::vector<Outcome> outcomes;
    for (std::size_t p : augment_list(c.augment)) outcomes.push_back(train_one(p, c, train, test, dtype, log));
    write_results(dir, outcomes, c.iters);
    std::printf("wrote %s/{log.csv,result.csv,flow.png,nfe.png,loss.png}\n", c.out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    on::tune_heap_for_training();
    CLI::App app{"Augmented Neural ODEs on the 2-D concentric task (Dupont, Doucet and Teh 2019, section 4.1)"};
    ex::one_line_errors(app, "augmented");
    Config c;
    const ex::Interval positive{.lo = 0, .lo_open = true}, tolerance{.lo = 0, .hi = 1, .lo_open = true};
    app.add_option("--augment", c.augment, "the p to train, each from scratch with the same budget: comma-separated counts of zero features")
        ->check(ex::whole_number_list(1, 8, 0, 64))->capture_default_str();
    ex::add_whole(app, "--iters", c.iters, 1, 10000000, "training iterations per p");
    ex::add_whole(app, "--batch-size", c.batch_size, 1, 1000000, "points per iteration (all of them when larger than --n)");
    ex::add_whole(app, "--hidden", c.hidden, 1, 4096, "hidden width of the dynamics MLP");
    ex::add_whole(app, "--n", c.n, 2, 10000000, "training points (a third in the disc); the held-out set has as many");
    ex::add_whole(app, "--seed", c.seed, 0, 1000000000000LL, "random seed (data, weights, batches)");
    ex::add_whole(app, "--threads", c.threads, 1, 1024, "odenet threads");
    app.add_option("--lr", c.lr, "Adam learning rate")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--rtol", c.rtol, "ODE relative tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--atol", c.atol, "ODE absolute tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--grad", c.grad, "gradients through the ODE solves: adjoint, checkpointed or direct")
        ->check(CLI::IsMember({"adjoint", "checkpointed", "direct"}))->capture_default_str();
    app.add_option("--dtype", c.dtype, "float64 or float32")->check(CLI::IsMember({"float64", "float32"}))->capture_default_str();
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--overwrite", c.overwrite, "replace the run in --out");
    CLI11_PARSE(app, argc, argv);
    try {
        const std::vector<std::size_t> ps = augment_list(c.augment);
        for (std::size_t i = 0; i < ps.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (ps[i] == ps[j])  // a second run of the same p would only repeat the first (same seed, same batches)
                    throw on::ValueError("augmented", "--augment " + c.augment + ": p = " + std::to_string(ps[i]) + " appears twice");
        return run(c);
    } catch (const std::exception& e) {
        const std::string what = e.what();  // the program's own errors already start with its name
        std::fprintf(stderr, "%s%s\n", what.starts_with("augmented: ") ? "" : "augmented: ", what.c_str());
        return 1;
    }
}
