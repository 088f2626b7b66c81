// latent_ode: the Neural ODE paper's time-series experiment (Chen et al. 2018, section 5.1,
// Table 2 and Figure 8): spirals observed at n irregular times, a latent ODE (or an ODE-RNN
// encoder, or an RNN baseline) trained on them, and the predictive RMSE on the 100 time points
// after the observed window, for held-out test spirals.
//
//   build/examples/latent_ode/latent_ode --model latent_ode --n 30 --out out/latent_ode-30
//
// Writes into --out: checkpoint.npz (model, optimizer, iterations; --resume continues from it),
// log.csv (iteration, loss, NFE, seconds since this process started, test RMSE), result.csv (the final RMSE), spirals.png
// (test spirals: observed points, truth, reconstruction and extrapolation) and, for the latent
// models, latent.png (latent trajectories).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>

#include <CLI/CLI.hpp>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/latent_ode/figures.hpp"
#include "odenet/latent_ode/models.hpp"
#include "odenet/latent_ode/spirals.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace ex = odenet::examples;
namespace lo = odenet::latent_ode;
using on::Var;

namespace {

struct Config {
    std::string model = "latent_ode", grad = "checkpointed", dtype = "float64", out = "out/latent_ode";
    std::size_t n = 30, niters = 20000, spirals = 1000, test_spirals = 100, batch_size = 100;
    std::size_t eval_every = 1000, save_every = 1000, seed = 0, threads = 1, stop_after = 0;
    double lr = 0.01, lr_final = 5e-4, rtol = 1e-5, atol = 1e-6;
    bool resume = false, overwrite = false;
};

const std::vector<std::string> kOutputs = {"checkpoint.npz", "log.csv", "result.csv", "spirals.png", "latent.png"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A generator for iteration `it` alone: a resumed run draws what the uninterrupted one drew.
on::Generator generator_for(std::size_t seed, std::size_t it) { return on::Generator(seed * 1000003u + it * 7919u + 17u); }

// The learning rate at iteration `it`: constant, or decaying geometrically from --lr at the first
// iteration to --lr-final at the last.
double learning_rate(const Config& c, std::size_t it) {
    if (c.niters < 2) return c.lr;
    return c.lr * std::pow(c.lr_final / c.lr, double(it - 1) / double(c.niters - 1));
}

// What must match for --resume to continue a run: the data, and the learning-rate schedule
// (it depends on --niters), so that a resumed run is the uninterrupted one.
std::vector<double> run_config_of(const Config& c) {
    return {double(c.n), double(c.seed), double(c.spirals), double(c.batch_size), c.dtype == "float32" ? 32.0 : 64.0,
            double(c.niters), c.lr, c.lr_final};
}

struct Data {
    lo::Spirals train, test;
    std::vector<std::vector<std::size_t>> train_at, test_at;  // observed indices per spiral
    std::vector<double> future;                               // the extrapolation times
};

Data make_data(const Config& c) {
    Data d;
    const lo::SpiralConfig sc;
    d.train = lo::make_spirals({.count = c.spirals}, c.seed);
    d.test = lo::make_spirals({.count = c.test_spirals}, c.seed + 1);
    on::Generator gen(c.seed + 2);
    d.train_at = lo::subsample(c.spirals, sc.observed, c.n, gen);
    d.test_at = lo::subsample(c.test_spirals, sc.observed, c.n, gen);
    d.future.assign(d.test.times.begin() + long(sc.observed), d.test.times.end());
    return d;
}

struct Rmse {
    double noisy, clean;
};

// Table 2's predictive RMSE: predictions at the 100 times after the observed window against the
// test spirals' noisy observations and against their clean curve.
Rmse predictive_rmse(lo::SeriesModel& model, const Data& d, on::Dtype dtype) {
    on::NoGradGuard no_grad;
    const lo::Observations obs = lo::observe(d.test.noisy, d.test.times, d.test_at, lo::first_rows(d.test.noisy.shape()[0]), dtype);
    const on::Tensor<double> pred = on::to_dtype(model.predict(obs, d.future), on::Dtype::float64).value<double>();
    const std::size_t first = d.test.times.size() - d.future.size();
    double noisy = 0, clean = 0, count = 0;
    for (std::size_t b = 0; b < pred.shape()[0]; ++b)
        for (std::size_t q = 0; q < pred.shape()[1]; ++q)
            for (std::size_t k = 0; k < 2; ++k) {
                noisy += std::pow(pred(b, q, k) - d.test.noisy(b, first + q, k), 2);
                clean += std::pow(pred(b, q, k) - d.test.clean(b, first + q, k), 2);
                ++count;
            }
    return {std::sqrt(noisy / count), std::sqrt(clean / count)};
}

void write_figures(lo::SeriesModel& model, const Data& d, const Config& c, on::Dtype dtype, const fs::path& dir) {
    on::NoGradGuard no_grad;
    constexpr std::size_t kPanels = 6;
    const std::size_t shown = std::min(kPanels, d.test.noisy.shape()[0]);
    const lo::Observations obs = lo::observe(d.test.noisy, d.test.times, d.test_at, lo::first_rows(shown), dtype);
    const std::size_t observed = d.test.times.size() - d.future.size();
    // The latent models reconstruct the observed window too; the RNNs only extrapolate.
    std::vector<double> query(d.test.times.begin() + (model.is_latent() ? 0 : long(observed)), d.test.times.end());
    const on::Tensor<double> pred = on::to_dtype(model.predict(obs, query), on::Dtype::float64).value<double>();
    std::vector<lo::SpiralPanel> panels(shown);
    for (std::size_t b = 0; b < shown; ++b) {
        lo::SpiralPanel& p = panels[b];
        for (std::size_t k = 0; k < d.test.times.size(); ++k) p.true_x.push_back(d.test.clean(b, k, 0)), p.true_y.push_back(d.test.clean(b, k, 1));
        for (std::size_t k : d.test_at[b]) p.seen_x.push_back(d.test.noisy(b, k, 0)), p.seen_y.push_back(d.test.noisy(b, k, 1));
        for (std::size_t q = 0; q < query.size(); ++q) {
            const bool extrapolated = query[q] >= d.future.front();
            if (extrapolated && p.extra_x.empty() && !p.recon_x.empty())  // join the two parts
                p.extra_x.push_back(p.recon_x.back()), p.extra_y.push_back(p.recon_y.back());
            (extrapolated ? p.extra_x : p.recon_x).push_back(pred(b, q, 0));
            (extrapolated ? p.extra_y : p.recon_y).push_back(pred(b, q, 1));
        }
    }
    std::ostringstream title;
    title << c.model << ", n = " << c.n << ", " << model.iterations_done() << " iterations: test spirals";
    lo::save_spiral_figure((dir / "spirals.png").string(), title.str(), panels, 3, 300);
    if (!model.is_latent()) return;
    const std::size_t many = std::min<std::size_t>(40, d.test.noisy.shape()[0]);
    const lo::Observations more = lo::observe(d.test.noisy, d.test.times, d.test_at, lo::first_rows(many), dtype);
    const on::Tensor<double> z = on::to_dtype(model.latent_path(more, d.test.times), on::Dtype::float64).value<double>();
    lo::save_latent_figure((dir / "latent.png").string(), c.model + ": latent trajectories of " + std::to_string(many) + " test spirals",
                           z, std::vector<int>(d.test.clockwise.begin(), d.test.clockwise.begin() + long(many)), observed, 520);
}

// One training iteration; returns the loss. Stops a diverging run naming what went wrong.
double train_step(lo::SeriesModel& model, on::optim::Optimizer& optimizer, const lo::Observations& obs, on::Generator& gen) {
    Var loss = model.loss(obs, gen);
    const double value = loss.item();
    if (!std::isfinite(value)) throw on::ValueError("latent_ode", "the loss became " + std::to_string(value));
    optimizer.zero_grad();
    on::backward(loss);
    const auto named = model.named_parameters();
    if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("latent_ode", "the gradient of " + *bad);
    optimizer.step();
    if (auto bad = ex::first_nonfinite_value(named)) throw on::ValueError("latent_ode", "after the optimizer step, parameter " + *bad);
    return value;
}

// Keeps the log's rows up to the checkpoint's iteration (a crash between a log row and the next
// save leaves the log ahead of the checkpoint).
void truncate_log(const fs::path& path, long iterations) {
    if (!fs::exists(path)) return;
    std::istringstream in(on::nn::read_file(path.string()));
    std::string kept, line;
    if (std::getline(in, line)) kept += line + "\n";
    const auto fields = [](const std::string& l) { return std::count(l.begin(), l.end(), ',') + 1; };
    const long columns = fields(line);
    while (std::getline(in, line))  // a row cut short by a crash is dropped too
        if (fields(line) == columns && std::strtod(line.c_str(), nullptr) <= double(iterations)) kept += line + "\n";
    on::nn::write_file_atomic(path.string(), kept);
}

int run(const Config& c) {
    const fs::path dir(c.out), ckpt = dir / "checkpoint.npz", log_path = dir / "log.csv";
    if (c.resume && !fs::exists(ckpt))
        throw on::IOError("latent_ode", ckpt.string(), "no checkpoint to resume from (--overwrite starts the run in this folder afresh)");
    ex::prepare_run_folder({.program = "latent_ode", .path = c.out, .outputs = kOutputs, .resume = c.resume, .overwrite = c.overwrite,
                            .can_resume = true});
    on::set_num_threads(int(c.threads));
    on::manual_seed(c.seed);
    const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
    const Data d = make_data(c);
    lo::ModelOptions mo{.kind = c.model, .dtype = dtype};
    mo.odeint = {.solver = {.rtol = c.rtol, .atol = c.atol}, .grad = on::ode::grad_from_name(c.grad)};
    auto model = lo::make_model(mo);
    model->set_run_config(run_config_of(c));
    on::optim::Adam optimizer(model->parameters(), {.lr = c.lr});
    if (c.resume) {
        on::nn::load(*model, optimizer, ckpt.string());
        if (model->run_config() != run_config_of(c))
            throw on::ValueError("latent_ode", "'" + ckpt.string() + "' is a run with other --n, --seed, --spirals, --batch-size, --dtype, "
                                               "--niters, --lr or --lr-final (a resumed run repeats the interrupted one; "
                                               "the learning-rate schedule depends on --niters)");
        truncate_log(log_path, model->iterations_done());
        std::printf("resumed from %s after %ld iterations\n", ckpt.c_str(), model->iterations_done());
    }
    std::printf("latent_ode: %s, n = %zu observations per spiral, %zu training spirals (batch %zu), %zu parameters, %s gradients\n",
                c.model.c_str(), c.n, c.spirals, c.batch_size, model->parameter_count(), c.grad.c_str());
    std::fflush(stdout);
    on::util::CsvLog log(log_path.string(),
                         {"iteration", "loss", "nfe_forward", "nfe_backward", "seconds", "test_rmse_noisy", "test_rmse_clean"},
                         /*append=*/c.resume && fs::exists(log_path));
    const auto start = std::chrono::steady_clock::now();
    on::util::ProgressBar bar(c.niters, "train");
    const auto save = [&] {
        if (auto bad = ex::first_nonfinite_value(model->named_parameters()))
            throw on::ValueError("latent_ode", "not saving a checkpoint: parameter " + *bad);
        on::nn::save(*model, optimizer, ckpt.string());
    };
    const std::size_t first = std::size_t(model->iterations_done()) + 1;
    for (std::size_t it = first; it <= c.niters; ++it) {
        on::Generator gen = generator_for(c.seed, it);
        optimizer.set_lr(learning_rate(c, it));
        const std::vector<std::size_t> rows =
            c.batch_size >= c.spirals ? lo::first_rows(c.spirals) : on::choice(c.spirals, c.batch_size, false, gen);
        const lo::Observations obs = lo::observe(d.train.noisy, d.train.times, d.train_at, rows, dtype);
        const double loss = train_step(*model, optimizer, obs, gen);
        const double nfe_f = model->nfe_forward(), nfe_b = model->nfe_backward();  // before the test's solves
        model->set_iterations_done(long(it));
        Rmse rmse{NAN, NAN};
        if (it % c.eval_every == 0 || it == c.niters) {
            rmse = predictive_rmse(*model, d, dtype);
            char text[160];
            std::snprintf(text, sizeof text, "iter %5zu | loss %.4f | test RMSE %.4f (noisy) %.4f (clean)", it, loss, rmse.noisy, rmse.clean);
            bar.write(text);
        }
        log.row({double(it), loss, nfe_f, nfe_b, seconds_since(start), rmse.noisy, rmse.clean});
        if (it % c.save_every == 0 || it == c.niters) save();
        bar.update(it, {{"loss", loss}, {"nfe_f", nfe_f}, {"nfe_b", nfe_b}});
        if (c.stop_after > 0 && it + 1 - first == c.stop_after && it < c.niters) {
            save();
            bar.finish();
            std::printf("stopped after %zu iterations of this run (%zu of %zu); --resume continues\n", c.stop_after, it, c.niters);
            return 0;
        }
    }
    bar.finish();
    const Rmse rmse = predictive_rmse(*model, d, dtype);
    char result[256];
    std::snprintf(result, sizeof result, "n,iterations,rmse_noisy,rmse_clean,seconds\n%zu,%ld,%.10g,%.10g,%.10g\n", c.n,
                  model->iterations_done(), rmse.noisy, rmse.clean, seconds_since(start));
    on::nn::write_file_atomic((dir / "result.csv").string(), result);
    write_figures(*model, d, c, dtype, dir);
    std::printf("%s, n = %zu: predictive RMSE on %zu test spirals (100 points after the observed window) %.4f against the noisy "
                "observations, %.4f against the clean spirals; %.1f s\n",
                c.model.c_str(), c.n, c.test_spirals, rmse.noisy, rmse.clean, seconds_since(start));
    std::printf("wrote %s/{log.csv,result.csv,spirals.png%s}\n", c.out.c_str(), model->is_latent() ? ",latent.png" : "");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    on::tune_heap_for_training();
    CLI::App app{"latent ODE, ODE-RNN and RNN baselines on irregularly sampled spirals (Chen et al. 2018, Table 2)"};
    ex::one_line_errors(app, "latent_ode");
    Config c;
    const ex::Interval positive{.lo = 0, .lo_open = true}, tolerance{.lo = 0, .hi = 1, .lo_open = true};
    app.add_option("--model", c.model, "latent_ode, ode_rnn (ODE-RNN encoder), rnn or rnn_dt (RNN with time gaps)")
        ->check(CLI::IsMember(lo::model_names()))->capture_default_str();
    ex::add_whole(app, "--n", c.n, 1, 100, "observations per spiral, subsampled from its first 100 points");
    ex::add_whole(app, "--niters", c.niters, 1, 10000000, "training iterations (a resumed run needs the same number)");
    ex::add_whole(app, "--spirals", c.spirals, 1, 1000000, "training spirals");
    ex::add_whole(app, "--test-spirals", c.test_spirals, 1, 1000000, "held-out spirals for the predictive RMSE");
    ex::add_whole(app, "--batch-size", c.batch_size, 1, 1000000, "spirals per iteration (all of them when larger)");
    ex::add_whole(app, "--eval-every", c.eval_every, 1, 10000000, "iterations between test RMSEs");
    ex::add_whole(app, "--save-every", c.save_every, 1, 10000000, "iterations between checkpoints");
    ex::add_whole(app, "--seed", c.seed, 0, 1000000000000LL, "random seed (data, weights, noise)");
    ex::add_whole(app, "--threads", c.threads, 1, 1024, "odenet threads");
    ex::add_whole(app, "--stop-after", c.stop_after, 0, 10000000,
                  "end this process after this many iterations, with a checkpoint (0: run to --niters; for time-limited jobs)");
    app.add_option("--lr", c.lr, "Adam learning rate")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--lr-final", c.lr_final, "the learning rate at the last iteration: it decays geometrically from --lr (equal to --lr: constant)")
        ->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--rtol", c.rtol, "ODE relative tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--atol", c.atol, "ODE absolute tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--grad", c.grad, "gradients through the ODE solves: adjoint, checkpointed or direct")
        ->check(CLI::IsMember({"adjoint", "checkpointed", "direct"}))->capture_default_str();
    app.add_option("--dtype", c.dtype, "float64 or float32")->check(CLI::IsMember({"float64", "float32"}))->capture_default_str();
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    auto* resume = app.add_flag("--resume", c.resume, "continue the run in --out from its checkpoint.npz and log.csv");
    app.add_flag("--overwrite", c.overwrite, "replace the run in --out")->excludes(resume);
    CLI11_PARSE(app, argc, argv);
    try {
        if ((c.model == "rnn" || c.model == "rnn_dt") && c.n < 2)
            throw on::ValueError("latent_ode", "--n 1: the RNN baselines learn from pairs of observations; use --n >= 2");
        return run(c);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "latent_ode: %s\n", e.what());
        return 1;
    }
}
