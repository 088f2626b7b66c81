// planar_flows: the Neural ODE paper's planar CNF against the planar normalizing flow (Chen et
// al. 2018, section 4.1, Figure 4; Rezende & Mohamed 2015), on density matching and on maximum
// likelihood. Writes into --out:
//   density.png   Figure 4's layout: a row per target, columns target | NF K=.. | CNF M=..
//                 (exp(log q) of each trained model on [−4, 4]²)
//   samples.png   the same layout with samples of each model
//   kl_curves.png KL(q‖p) per iteration (running mean of 50, fewer for short runs) for every
//                 model at the common budget, one panel per target
//   budget.png    the NF run with --nf-long-iterations against the largest CNF's final KL
//   ml.png        maximum likelihood: a row per dataset: data | NF density, samples | CNF density, samples
//   results.csv   task, target, model, iterations, final KL or NLL, seconds, mean forward/backward NFE
//   curves.csv    task, target, model, iteration, loss, nfe_forward, nfe_backward
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <tuple>

#include <CLI/CLI.hpp>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/progress.hpp"
#include "odenet/util/toy_data.hpp"
#include "planar_flows/figures.hpp"
#include "planar_flows/models.hpp"
#include "planar_flows/targets.hpp"

namespace on = odenet;
namespace pf = odenet::planar_flows;
namespace util = odenet::util;
namespace ex = odenet::examples;

namespace {

struct Config {
    std::string targets = "u1,u2,u3,u4";
    std::string sizes = "1,2,32";
    int iterations = 10000;       // the paper's CNF budget (10,000 Adam iterations)
    int nf_long_iterations = 100000;  // a fifth of the paper's NF budget (500,000 RMSprop iterations)
    std::string ml_data = "moons,circles";
    int ml_iterations = 10000;
    std::size_t batch_size = 256;
    // Adam's step per family, each the better of {1e-3, 1e-2} on U1 and U3 (docs/EXAMPLES.md):
    // at 1e-2 the CNF's hypernetwork jumps out of a two-mode fit into one mode (KL → log 2); at
    // 1e-3 the NF stays in one mode.
    double lr_nf = 1e-2, lr_cnf = 1e-3;
    std::size_t hidden = 32;
    double rtol = 1e-5, atol = 1e-5;
    std::string grad = "adjoint";
    std::string dtype = "float64";
    std::uint64_t seed = 0;
    std::string out = "out/planar_flows";
    bool overwrite = false;
    std::size_t grid = 80;
    std::size_t eval_size = 20000;  // draws for each final KL or NLL: its standard error goes as 1 / sqrt of this
    int threads = 1;
};

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
    return out;
}

struct RunResult {
    std::string task, target, model;
    int iterations = 0;
    double final_value = 0, standard_error = 0, seconds = 0, nfe_forward = 0, nfe_backward = 0;
    std::vector<double> losses, nfe_f, nfe_b;
};

// One Adam step; stops the program with a message naming the run and the parameter when the loss,
// a gradient or a parameter is not finite.
double train_step(pf::PlanarModel& model, on::optim::Adam& opt, const on::Var& loss, const std::string& run) {
    const double value = loss.item();
    if (!std::isfinite(value)) throw on::ValueError("planar_flows", run + ": the loss became " + std::to_string(value));
    opt.zero_grad();
    on::backward(loss);
    const auto named = model.module().named_parameters();
    if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("planar_flows", run + ": the gradient of " + *bad);
    opt.step();
    if (auto bad = ex::first_nonfinite_value(named)) throw on::ValueError("planar_flows", run + ": after the step, " + *bad);
    return value;
}

// Trains one model; `batch_loss(it)` builds the loss of iteration it. The progress line shows the
// loss (plus `offset`: log Z for density matching, so that it reads as KL) and the NFE.
template <class LossFn>
RunResult train(pf::PlanarModel& model, int iterations, double lr, double offset, const std::string& run, LossFn batch_loss) {
    on::optim::Adam opt(model.module().parameters(), {.lr = lr});
    RunResult r;
    util::ProgressBar bar(std::size_t(iterations), run);
    const auto start = std::chrono::steady_clock::now();
    for (int it = 1; it <= iterations; ++it) {
        const double loss = train_step(model, opt, batch_loss(it), run) + offset;
        r.losses.push_back(loss);
        r.nfe_f.push_back(double(model.last_nfe()));
        r.nfe_b.push_back(double(model.last_backward_nfe()));
        bar.update(std::size_t(it), {{"loss", loss}, {"nfe_f", model.last_nfe()}, {"nfe_b", model.last_backward_nfe()}});
    }
    bar.finish();
    r.iterations = iterations;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto mean = [](const std::vector<double>& v) {
        double s = 0;
        for (double x : v) s += x;
        return v.empty() ? 0.0 : s / double(v.size());
    };
    r.nfe_forward = mean(r.nfe_f);
    r.nfe_backward = mean(r.nfe_b);
    return r;
}

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

void write_tables(const Config& c, const std::vector<RunResult>& runs) {
    std::string results = "task,target,model,iterations,final,standard_error,seconds,mean_nfe_forward,mean_nfe_backward\n";
    std::string curves = "task,target,model,iteration,loss,nfe_forward,nfe_backward\n";
    for (const RunResult& r : runs) {
        results += r.task + "," + r.target + "," + r.model + "," + std::to_string(r.iterations) + "," + fmt(r.final_value) +
                   "," + fmt(r.standard_error) + "," + fmt(r.seconds) + "," + fmt(r.nfe_forward) + "," + fmt(r.nfe_backward) + "\n";
        for (std::size_t i = 0; i < r.losses.size(); ++i)
            curves += r.task + "," + r.target + "," + r.model + "," + std::to_string(i + 1) + "," + fmt(r.losses[i]) + "," +
                      fmt(r.nfe_f[i]) + "," + fmt(r.nfe_b[i]) + "\n";
    }
    on::nn::write_file_atomic(c.out + "/results.csv", results);
    on::nn::write_file_atomic(c.out + "/curves.csv", curves);
}

// The mean of n terms and its standard error, sqrt(sample variance / n).
std::pair<double, double> mean_and_standard_error(const on::Var& terms) {
    const on::Var values = on::to_dtype(terms, on::Dtype::float64);
    const auto& v = values.value<double>();
    double sum = 0, squares = 0;
    for (double x : v) sum += x;
    const double n = double(v.size()), mean = sum / n;
    for (double x : v) squares += (x - mean) * (x - mean);
    return {mean, n > 1 ? std::sqrt(squares / (n - 1) / n) : 0.0};
}

// Running mean over `window` iterations: single-batch KL estimates are noisy.
util::Series smoothed(const std::string& label, const std::vector<double>& y, std::size_t window) {
    util::Series s{label, {}, {}};
    double sum = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        sum += y[i];
        if (i >= window) sum -= y[i - window];
        if (i + 1 >= window) {
            s.x.push_back(double(i + 1));
            s.y.push_back(sum / double(window));
        }
    }
    return s;
}

const std::vector<std::string> kOutputs = {"density.png", "samples.png", "kl_curves.png", "budget.png",
                                           "ml.png",      "results.csv", "curves.csv"};

void add_flags(CLI::App& app, Config& c) {
    const ex::Interval positive{.lo = 0, .lo_open = true}, tolerance{.lo = 0, .hi = 1, .lo_open = true};
    app.add_option("--targets", c.targets, "density-matching targets (Rezende & Mohamed's U1-U4), comma-separated")
        ->check(ex::name_list(0, 4, pf::target_names()))
        ->capture_default_str();
    app.add_option("--sizes", c.sizes, "K (NF layers) and M (CNF units) to compare, comma-separated")
        ->type_name("INT,...")
        ->check(ex::whole_number_list(1, 8, 1, 1024))
        ->capture_default_str();
    ex::add_whole(app, "--iterations", c.iterations, 1, 10000000, "Adam iterations of every density-matching model");
    ex::add_whole(app, "--nf-long-iterations", c.nf_long_iterations, 0, 10000000,
                  "iterations of one more NF with the largest K per target (the paper trained the NF longer); 0: none");
    app.add_option("--ml-data", c.ml_data, "toy datasets for maximum likelihood, comma-separated (empty: none)")
        ->check(ex::name_list(0, 8, util::toy_names()))
        ->capture_default_str();
    ex::add_whole(app, "--ml-iterations", c.ml_iterations, 1, 10000000, "Adam iterations of every maximum-likelihood model");
    ex::add_whole(app, "--batch-size", c.batch_size, 1, 100000, "samples (base draws or data) per iteration");
    app.add_option("--lr-nf", c.lr_nf, "Adam learning rate of the planar NF")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--lr-cnf", c.lr_cnf, "Adam learning rate of the planar CNF")->check(ex::finite_number(positive))->capture_default_str();
    ex::add_whole(app, "--hidden", c.hidden, 1, 4096, "units in each layer of the CNF's hypernetwork");
    app.add_option("--rtol", c.rtol, "relative tolerance of the CNF's solves")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--atol", c.atol, "absolute tolerance of the CNF's solves")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--grad", c.grad, "CNF gradient mode: adjoint, checkpointed or direct")
        ->check(CLI::IsMember({"adjoint", "checkpointed", "direct"}))
        ->capture_default_str();
    app.add_option("--dtype", c.dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}))->capture_default_str();
    ex::add_whole(app, "--seed", c.seed, 0, std::numeric_limits<long long>::max(), "random seed");
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--overwrite", c.overwrite, "replace the files of an earlier run in --out");
    ex::add_whole(app, "--grid", c.grid, 2, 480, "density grid resolution (cells per side)");
    ex::add_whole(app, "--eval-size", c.eval_size, 1, 1000000, "samples for each final KL or held-out NLL");
    ex::add_whole(app, "--threads", c.threads, 0, 1024, "odenet threads (0: ODENET_NUM_THREADS, else all cores)");
}

}  // namespace

int main(int argc, char** argv) {
    odenet::tune_heap_for_training();
    Config c;
    CLI::App app{"planar_flows: planar CNF (Chen et al. 2018) against planar NF (Rezende & Mohamed 2015)"};
    ex::one_line_errors(app, "planar_flows");
    add_flags(app, c);
    CLI11_PARSE(app, argc, argv);

    try {
        if (c.threads > 0) on::set_num_threads(c.threads);
        const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
        const std::vector<std::string> targets = split(c.targets), ml_data = split(c.ml_data);
        if (targets.empty() && ml_data.empty())
            throw on::ValueError("planar_flows", "--targets and --ml-data are both empty: nothing to train");
        std::vector<std::size_t> sizes;
        for (const std::string& s : split(c.sizes)) sizes.push_back(std::stoul(s));
        const std::size_t largest = *std::max_element(sizes.begin(), sizes.end());
        ex::prepare_run_folder({.program = "planar_flows", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
        std::printf("planar_flows: %zu targets x (NF, CNF) x sizes %s, %d Adam iterations of %zu samples, lr %g (NF) %g (CNF); "
                    "NF K=%zu also %d iterations; ML on '%s' for %d iterations; %s, CNF %s gradients, rtol %g atol %g\n",
                    targets.size(), c.sizes.c_str(), c.iterations, c.batch_size, c.lr_nf, c.lr_cnf, largest, c.nf_long_iterations,
                    c.ml_data.c_str(), c.ml_iterations, c.dtype.c_str(), c.grad.c_str(), c.rtol, c.atol);

        const on::Tensor<double> grid = util::grid_points(pf::kFrame, c.grid);
        // Whole pixels per density cell, so that heatmaps and scatter plots have one size.
        const std::size_t panel = c.grid * std::max<std::size_t>(1, 160 / c.grid);
        std::vector<RunResult> runs;
        std::vector<std::vector<util::Image>> density_rows, sample_rows;
        std::vector<util::Image> curve_panels, budget_panels;
        std::string written;  // the pictures this run drew, for the last line
        std::vector<std::string> columns{"TARGET"};
        auto model_config = [&](pf::Family family, std::size_t size, pf::Objective objective) {
            return pf::ModelConfig{.family = family, .size = size, .objective = objective, .hidden = c.hidden, .rtol = c.rtol,
                                   .atol = c.atol, .grad = on::ode::grad_from_name(c.grad), .dtype = dtype};
        };

        // Density matching: KL(q‖p) = E_q[log q + U] + log Z, log Z by quadrature.
        for (std::size_t ti = 0; ti < targets.size(); ++ti) {
            const std::string& target = targets[ti];
            const double log_z = pf::log_normaliser(target);
            const on::Tensor<double> target_log_p = [&] {
                on::NoGradGuard no_grad;
                return on::Tensor<double>(-pf::energy(target, on::Var(grid)).value<double>() - log_z);
            }();
            // The target has no sampler: its column in samples.png shows its density too.
            std::vector<util::Image> densities{pf::density_panel(target_log_p, c.grid, panel)}, samples{densities.back()};
            std::vector<util::Series> series, budget;  // equal budgets; the long NF against the best CNF
            struct Plan { pf::Family family; std::size_t size; int iterations; };
            std::vector<Plan> plans;
            for (std::size_t s : sizes) plans.push_back({pf::Family::nf, s, c.iterations});
            for (std::size_t s : sizes) plans.push_back({pf::Family::cnf, s, c.iterations});
            if (c.nf_long_iterations > 0) plans.push_back({pf::Family::nf, largest, c.nf_long_iterations});
            for (const Plan& plan : plans) {
                on::manual_seed(c.seed + 11);
                pf::PlanarModel model(model_config(plan.family, plan.size, pf::Objective::kl));
                std::string label = model.label() + (plan.iterations != c.iterations ? " X" + std::to_string(plan.iterations) : "");
                on::Generator gen(c.seed + 101 + ti);
                RunResult r = train(model, plan.iterations, plan.family == pf::Family::nf ? c.lr_nf : c.lr_cnf, log_z, target + " " + label,
                                    [&](int) { return model.kl_loss(target, c.batch_size, gen); });
                {
                    on::NoGradGuard no_grad;
                    on::Generator eval_gen(c.seed + 1000003);
                    const auto [mean, se] = mean_and_standard_error(model.kl_terms(target, c.eval_size, eval_gen));
                    r.final_value = mean + log_z;
                    r.standard_error = se;
                }
                std::printf("  %s %s: KL(q||p) = %.4f ± %.4f nats after %d iterations, %.1f s, mean NFE forward %.1f backward %.1f\n",
                            target.c_str(), label.c_str(), r.final_value, r.standard_error, r.iterations, r.seconds,
                            r.nfe_forward, r.nfe_backward);
                std::fflush(stdout);  // a result line is worth seeing at once when stdout is a file
                r.task = "kl";
                r.target = target;
                r.model = label;
                if (plan.iterations == c.iterations) {
                    series.push_back(smoothed(label, r.losses, std::clamp<std::size_t>(r.losses.size() / 5, 1, 50)));
                    if (plan.family == pf::Family::cnf && plan.size == largest)
                        budget.push_back({label + " AFTER " + std::to_string(c.iterations), {1.0, double(c.nf_long_iterations)},
                                          {r.final_value, r.final_value}});
                    if (ti == 0) columns.push_back(label);
                    densities.push_back(pf::density_panel(model.log_density(grid), c.grid, panel));
                    on::Generator sample_gen(c.seed + 5);
                    samples.push_back(util::scatter_plot(model.samples(4000, sample_gen), pf::kFrame, panel, {.alpha = 0.25, .dot = 1}));
                } else {
                    budget.push_back(smoothed(label, r.losses, std::clamp<std::size_t>(r.losses.size() / 5, 1, 500)));
                }
                runs.push_back(std::move(r));
                write_tables(c, runs);
            }
            density_rows.push_back(std::move(densities));
            sample_rows.push_back(std::move(samples));
            curve_panels.push_back(util::line_plot(series, {.width = 720, .height = 300, .log_y = true,
                                                            .title = target + ": KL divergence of q from p in nats, running mean of 50 iterations",
                                                            .x_label = "iteration"}));
            if (c.nf_long_iterations > 0)
                budget_panels.push_back(util::line_plot(budget, {.width = 720, .height = 300, .log_y = true,
                                                                 .title = target + ": the longer NF run (running mean of 500) and the final KL of the largest CNF",
                                                                 .x_label = "iteration"}));
        }
        if (!targets.empty()) {
            std::vector<std::string> row_titles(targets);
            for (auto& t : row_titles) std::transform(t.begin(), t.end(), t.begin(), ::toupper);
            pf::panel_grid(density_rows, columns, row_titles).save_png(c.out + "/density.png");
            pf::panel_grid(sample_rows, columns, row_titles).save_png(c.out + "/samples.png");
            pf::stack_vertically(curve_panels).save_png(c.out + "/kl_curves.png");
            written += "density.png, samples.png, kl_curves.png, ";
            if (!budget_panels.empty()) {
                pf::stack_vertically(budget_panels).save_png(c.out + "/budget.png");
                written += "budget.png, ";
            }
        }

        // Maximum likelihood on samples of toy datasets: NF and CNF of the largest size.
        std::vector<std::vector<util::Image>> ml_rows;
        std::vector<std::string> ml_columns{"DATA"};
        for (std::size_t di = 0; di < ml_data.size(); ++di) {
            const std::string& name = ml_data[di];
            on::Generator data_gen(c.seed + 201 + di);
            std::vector<util::Image> row{util::scatter_plot(util::sample_toy(name, 4000, data_gen), pf::kFrame, panel,
                                                            {.alpha = 0.25, .dot = 1})};
            for (pf::Family family : {pf::Family::nf, pf::Family::cnf}) {
                on::manual_seed(c.seed + 13);
                pf::PlanarModel model(model_config(family, largest, pf::Objective::ml));
                RunResult r = train(model, c.ml_iterations, family == pf::Family::nf ? c.lr_nf : c.lr_cnf, 0.0, name + " " + model.label(), [&](int) {
                    return model.nll_loss(on::to_dtype(on::Var(util::sample_toy(name, c.batch_size, data_gen)), dtype));
                });
                {
                    on::NoGradGuard no_grad;
                    on::Generator test_gen(c.seed + 1000033);
                    // −log p of each held-out point (the CNF's with the exact trace).
                    const on::Tensor<double> log_p = model.log_density(util::sample_toy(name, c.eval_size, test_gen));
                    std::tie(r.final_value, r.standard_error) = mean_and_standard_error(on::Var(on::Tensor<double>(-log_p)));
                }
                std::printf("  %s %s: held-out NLL %.4f ± %.4f nats after %d iterations, %.1f s, mean NFE forward %.1f backward %.1f\n",
                            name.c_str(), model.label().c_str(), r.final_value, r.standard_error, r.iterations, r.seconds,
                            r.nfe_forward, r.nfe_backward);
                std::fflush(stdout);
                r.task = "ml";
                r.target = name;
                r.model = model.label();
                if (di == 0) {
                    ml_columns.push_back(model.label() + " DENSITY");
                    ml_columns.push_back("SAMPLES");
                }
                row.push_back(pf::density_panel(model.log_density(grid), c.grid, panel));
                on::Generator sample_gen(c.seed + 5);
                row.push_back(util::scatter_plot(model.samples(4000, sample_gen), pf::kFrame, panel, {.alpha = 0.25, .dot = 1}));
                runs.push_back(std::move(r));
                write_tables(c, runs);
            }
            ml_rows.push_back(std::move(row));
        }
        if (!ml_data.empty()) {
            pf::panel_grid(ml_rows, ml_columns, std::vector<std::string>(ml_data.size(), "")).save_png(c.out + "/ml.png");
            written += "ml.png, ";
        }
        write_tables(c, runs);
        std::printf("wrote into %s: %sresults.csv and curves.csv\n", c.out.c_str(), written.c_str());
    } catch (const on::Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "planar_flows: %s\n", e.what());
        return 1;
    }
    return 0;
}
