// toy_density: FFJORD (Grathwohl et al. 2019) on a 2-D toy density, the README's main demo.
// Trains a continuous normalizing flow by maximum likelihood, then writes what it learned:
//   data.png            samples of the target
//   density.png         exp(log p) of the model on a grid, log p with the exact trace
//   samples.png         samples of the model (base draws pushed through the flow)
//   trajectories.png    base points flowing to data space (t: T -> 0)
//   training_curve.png  training loss per iteration (and the data's entropy, where known)
//   training.csv        iteration, loss, nfe_forward, nfe_backward, end_time, seconds
// and prints the held-out negative log-likelihood (exact trace) next to the data's entropy.
// With --distributed (built with MPI), data-parallel over the ranks of `mpiexec -n N`: see
// Note [Each rank's points], train and run_distributed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xview.hpp>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/progress.hpp"
#include "odenet/util/toy_data.hpp"

#ifdef ODENET_WITH_DISTRIBUTED
#include "odenet/distributed/collectives.hpp"
#include "odenet/distributed/gradient_averager.hpp"
#include "odenet/distributed/world.hpp"
#endif

namespace on = odenet;
namespace util = odenet::util;
namespace ex = odenet::examples;

namespace {

struct Config {
    std::string dataset = "8gaussians";
    int iterations = 1000;
    std::size_t batch_size = 256;
    std::string hidden = "32,32,32";
    std::string activation = "tanh";
    std::string solver = "dopri5";
    double rtol = 1e-5, atol = 1e-5;
    std::string trace = "exact";
    std::string noise = "rademacher";
    int probes = 1;
    std::string grad = "adjoint";
    double lr = 2e-3, weight_decay = 1e-5;
    double end_time = 0.5;
    bool fixed_end_time = false;
    double kinetic = 0.0, jacobian = 0.0;
    std::string dtype = "float32";
    std::uint64_t seed = 0;
    std::string out = "out/toy_density";
    std::size_t test_size = 4000;
    std::size_t grid = 120;
    int threads = 1;
    bool overwrite = false;
    bool distributed = false;
};

std::vector<std::size_t> parse_sizes(const std::string& s) {
    std::vector<std::size_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
        if (!item.empty()) out.push_back(std::stoul(item));
    return out;
}

on::Var as_var(const on::Tensor<double>& x, on::Dtype dtype) { return on::to_dtype(on::Var(x), dtype); }

on::Tensor<double> as_double(const on::Var& v) { return on::to_dtype(v, on::Dtype::float64).value<double>(); }

// log p(x) with the exact trace, in batches, nothing recorded.
on::Tensor<double> exact_log_prob(on::nn::CNF& flow, const on::Tensor<double>& x, on::Dtype dtype) {
    on::NoGradGuard no_grad;
    const std::size_t n = x.shape()[0], batch = 2000;
    on::Tensor<double> out = on::Tensor<double>::from_shape({n});
    for (std::size_t i = 0; i < n; i += batch) {
        const std::size_t m = std::min(batch, n - i);
        on::Tensor<double> xb = xt::view(x, xt::range(i, i + m), xt::all());
        const on::Tensor<double> lp = as_double(flow.log_prob(as_var(xb, dtype), on::nn::Trace::exact));
        std::copy(lp.begin(), lp.end(), out.begin() + long(i));
    }
    return out;
}

double mean_of(const on::Tensor<double>& x) {
    double s = 0;
    for (double v : x) s += v;
    return s / double(x.size());
}

void write_plots(on::nn::CNF& flow, const Config& c, on::Dtype dtype, const std::vector<double>& losses) {
    const util::Range range{};
    const std::size_t size = 480;
    on::Generator gen(c.seed + 2);
    const std::string dir_str = c.out + "/";
    util::scatter_plot(util::sample_toy(c.dataset, 20000, gen), range, size).save_png(dir_str + "data.png");

    const on::Tensor<double> grid = util::grid_points(range, c.grid);
    const on::Tensor<double> lp = exact_log_prob(flow, grid, dtype);
    on::Tensor<double> density = xt::exp(xt::reshape_view(lp, {c.grid, c.grid}));
    util::heatmap(density, std::max<std::size_t>(1, size / c.grid)).save_png(dir_str + "density.png");

    on::NoGradGuard no_grad;
    const on::Tensor<double> samples = as_double(flow.sample(20000, gen));
    util::scatter_plot(samples, range, size).save_png(dir_str + "samples.png");
    on::Tensor<double> z = on::randn<double>({400, 2}, gen);
    const on::Tensor<double> paths = as_double(flow.trajectory(as_var(z, dtype), 21));
    util::trajectory_plot(paths, range, size).save_png(dir_str + "trajectories.png");

    std::vector<util::Series> series{{"train loss", {}, {}}};
    for (std::size_t i = 0; i < losses.size(); ++i) {
        series[0].x.push_back(double(i + 1));
        series[0].y.push_back(losses[i]);
    }
    if (auto h = util::toy_entropy(c.dataset)) {
        series.push_back({"data entropy", {1.0, double(losses.size())}, {*h, *h}});
    }
    util::line_plot(series, {.title = c.dataset + " negative log-likelihood (nats)", .x_label = "iteration"})
        .save_png(dir_str + "training_curve.png");
}

// One Adam step on a batch. Throws ValueError before the step when the loss or a gradient is
// non-finite, and after it when a parameter became non-finite (Adam moves each parameter by about
// lr per step whatever the gradient's size, so a huge --lr blows the weights up in one step).
// `backward` computes the gradients of the loss (on::backward, or the distributed run's averaged one).
double train_step(on::nn::CNF& flow, on::optim::Adam& opt, const on::Var& x,
                  const std::function<void(const on::Var&)>& backward) {
    const auto [log_p, regularization] = flow.log_prob_and_regularization(x);
    on::Var loss = -on::mean(log_p) + regularization;
    const double value = loss.item();
    if (!std::isfinite(value)) throw on::ValueError("toy_density", std::string("the loss became ") + (std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf"));
    opt.zero_grad();
    backward(loss);
    const auto named = flow.named_parameters();
    if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("toy_density", "the gradient of " + *bad);
    opt.step();
    if (auto bad = ex::first_nonfinite_value(named)) {
        throw on::ValueError("toy_density", "after the optimizer step, parameter " + *bad);
    }
    return value;
}

const std::vector<std::string> kOutputs = {"data.png",           "density.png", "samples.png", "trajectories.png",
                                           "training_curve.png", "training.csv"};

std::vector<std::string> method_names() {
    std::vector<std::string> out;
    for (on::ode::Method m : on::ode::all_methods()) out.emplace_back(on::ode::method_name(m));
    return out;
}

// Every flag is checked as it is parsed (examples/common flags.hpp): a bad value ends the program
// with one line naming the flag, the value and the allowed range, before any work.
void add_flags(CLI::App& app, Config& c) {
    const ex::Interval positive{.lo = 0, .lo_open = true}, non_negative{.lo = 0},
        tolerance{.lo = 0, .hi = 1, .lo_open = true}, end_time{.lo = 0, .hi = 100, .lo_open = true};
    app.add_option("--dataset", c.dataset, "8gaussians, 2spirals, checkerboard, moons, pinwheel, rings, circles, swissroll")
        ->check(CLI::IsMember(util::toy_names()))
        ->capture_default_str();
    ex::add_whole(app, "--iterations", c.iterations, 1, 10000000, "training iterations");
    ex::add_whole(app, "--batch-size", c.batch_size, 1, 100000, "points per iteration (per rank with --distributed)");
    app.add_option("--hidden", c.hidden, "hidden sizes of the ConcatSquash dynamics, comma-separated")
        ->type_name("INT,...")
        ->check(ex::whole_number_list(1, 16, 1, 4096))
        ->capture_default_str();
    app.add_option("--activation", c.activation, "tanh or softplus")->check(CLI::IsMember({"tanh", "softplus"}))->capture_default_str();
    app.add_option("--solver", c.solver, "Runge-Kutta method (dopri5, tsit5, bosh3, rk4, ...)")
        ->check(CLI::IsMember(method_names()))
        ->capture_default_str();
    app.add_option("--rtol", c.rtol, "relative tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--atol", c.atol, "absolute tolerance")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_option("--trace", c.trace, "trace estimator during training: exact or hutchinson")
        ->check(CLI::IsMember({"exact", "hutchinson"}))
        ->capture_default_str();
    app.add_option("--noise", c.noise, "Hutchinson noise: rademacher or gaussian")
        ->check(CLI::IsMember({"rademacher", "gaussian"}))
        ->capture_default_str();
    ex::add_whole(app, "--probes", c.probes, 1, 64, "Hutchinson probes averaged");
    app.add_option("--grad", c.grad, "gradient mode: adjoint, checkpointed or direct")
        ->check(CLI::IsMember({"adjoint", "checkpointed", "direct"}))
        ->capture_default_str();
    app.add_option("--lr", c.lr, "Adam learning rate")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--weight-decay", c.weight_decay, "Adam L2 weight decay")->check(ex::finite_number(non_negative))->capture_default_str();
    app.add_option("--end-time", c.end_time, "initial T (learned unless --fixed-end-time)")
        ->check(ex::finite_number(end_time))
        ->capture_default_str();
    app.add_flag("--fixed-end-time", c.fixed_end_time, "keep T fixed (as RNODE does) instead of learning it");
    app.add_option("--kinetic", c.kinetic, "weight of the kinetic-energy regulariser")->check(ex::finite_number(non_negative))->capture_default_str();
    app.add_option("--jacobian", c.jacobian, "weight of the Jacobian Frobenius regulariser")
        ->check(ex::finite_number(non_negative))
        ->capture_default_str();
    app.add_option("--dtype", c.dtype, "float32 or float64")->check(CLI::IsMember({"float32", "float64"}))->capture_default_str();
    ex::add_whole(app, "--seed", c.seed, 0, std::numeric_limits<long long>::max(), "random seed");
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--overwrite", c.overwrite, "replace the files of an earlier run in --out (without it, a folder holding files is refused)");
    ex::add_whole(app, "--test-size", c.test_size, 1, 1000000, "held-out points for the final NLL");
    ex::add_whole(app, "--grid", c.grid, 2, 480, "density grid resolution (cells per side)");
    ex::add_whole(app, "--threads", c.threads, 0, 1024,
                  "odenet threads (0: ODENET_NUM_THREADS, else all cores; the GEMMs here are small, so one is fastest)");
    app.add_flag("--distributed", c.distributed,
                 "data-parallel training over MPI (start with mpiexec -n N; alone, a world of one). --batch-size is "
                 "per rank: the global batch is batch-size x N. Iteration s draws its whole global batch from a "
                 "generator seeded by (seed, s), the same on every rank, and rank r trains on the r-th slice of it, "
                 "so 2 ranks of batch B/2 see the points 1 rank of batch B sees (a run without --distributed draws "
                 "from one stream and sees other points); Hutchinson probes are drawn per (seed, s, rank). "
                 "Gradients are averaged over the global batch. --lr is kept as given: Adam's step does not scale "
                 "with the gradient's size, what changes with N is the global batch. Only rank 0 prints and writes "
                 "--out");
}

#ifdef ODENET_WITH_DISTRIBUTED
namespace dist = odenet::distributed;
using World = dist::World;
#else
struct World {  // never made: without MPI, --distributed is refused before training
    int rank() const { return 0; }
    int size() const { return 1; }
};
#endif

// Note [Each rank's points]
// A plain run draws every iteration's batch from one stream, Generator(seed + 1). A distributed
// run draws iteration s's whole global batch, G = batch·ranks points, from
// Generator(step_seed(seed, s, 0)), the same on every rank, and rank r trains on points
// [r·batch, (r+1)·batch) of it. So the points of iteration s depend on (seed, s, G) alone, not on
// how G is split: 2 ranks of batch B/2 train on exactly the points 1 rank of batch B trains on
// (every rank draws all G points, which costs nothing next to the solve). The Hutchinson probes
// (--trace hutchinson) come from the default generator, reseeded with step_seed(seed, s, 1 + r)
// before each step: independent across ranks and reproducible, but unlike the points they change
// with the split.
std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
std::uint64_t step_seed(std::uint64_t seed, int step, int stream) {
    return splitmix64(splitmix64(splitmix64(seed) ^ std::uint64_t(step)) ^ std::uint64_t(stream));
}
on::Tensor<double> rank_points(const Config& c, int step, int rank, int ranks) {
    on::Generator gen(step_seed(c.seed, step, 0));
    const on::Tensor<double> all = util::sample_toy(c.dataset, c.batch_size * std::size_t(ranks), gen);
    const std::size_t lo = c.batch_size * std::size_t(rank);
    return xt::view(all, xt::range(lo, lo + c.batch_size), xt::all());
}

// The sums over ranks of a distributed run (the values themselves in a plain one).
std::vector<double> sum_over_ranks([[maybe_unused]] const World* world, std::vector<double> values,
                                   [[maybe_unused]] const std::string& what) {
#ifdef ODENET_WITH_DISTRIBUTED
    if (world) return dist::sum(*world, std::move(values), what);
#endif
    return values;
}

#ifdef ODENET_WITH_DISTRIBUTED
// Every flag, for checking that all ranks were started with the same ones.
std::string describe(const Config& c) {
    std::ostringstream o;
    o << c.dataset << ' ' << c.iterations << ' ' << c.batch_size << ' ' << c.hidden << ' ' << c.activation << ' '
      << c.solver << ' ' << c.rtol << ' ' << c.atol << ' ' << c.trace << ' ' << c.noise << ' ' << c.probes << ' '
      << c.grad << ' ' << c.lr << ' ' << c.weight_decay << ' ' << c.end_time << ' ' << c.fixed_end_time << ' '
      << c.kinetic << ' ' << c.jacobian << ' ' << c.dtype << ' ' << c.seed << ' ' << c.out << ' ' << c.test_size
      << ' ' << c.grid << ' ' << c.threads << ' ' << c.overwrite;
    return o.str();
}
#endif

// The whole run. `world` is null in a plain run; in a distributed one (Note [Each rank's points])
// every rank trains on its own points, the gradients are averaged over the global batch, the
// metrics shown are the global batch's (loss) and the mean over ranks (NFE), and only rank 0
// prints and writes files.
void train(const Config& c, const World* world) {
    const int rank = world ? world->rank() : 0, ranks = world ? world->size() : 1;
    const bool root = rank == 0;
    if (c.threads > 0) on::set_num_threads(c.threads);
    const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
    // Refuses an occupied --out and checks it is writable before any training (rank 0's folder;
    // if it refuses, run_ranks ends every rank with its message).
    if (root) ex::prepare_run_folder({.program = "toy_density", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
    on::manual_seed(c.seed);
    auto f = on::nn::make_toy_dynamics(2, parse_sizes(c.hidden), on::nn::activation_from_name(c.activation), dtype);
    on::nn::CNF flow(f, 2,
                     {.end_time = c.end_time,
                      .learn_end_time = !c.fixed_end_time,
                      .trace = on::nn::trace_from_name(c.trace),
                      .noise = on::nn::noise_from_name(c.noise),
                      .probes = c.probes,
                      .kinetic_weight = c.kinetic,
                      .jacobian_weight = c.jacobian,
                      .odeint = {.solver = {.method = on::ode::method_from_name(c.solver), .rtol = c.rtol, .atol = c.atol},
                                 .grad = on::ode::grad_from_name(c.grad)}});
    std::function<void(const on::Var&)> backward = [](const on::Var& loss) { on::backward(loss); };
#ifdef ODENET_WITH_DISTRIBUTED
    std::unique_ptr<dist::GradientAverager> averager;
    if (world) {
        dist::check_same(*world, describe(c), "the flags");
        dist::broadcast_module(*world, flow);  // every rank starts from rank 0's weights
        averager = std::make_unique<dist::GradientAverager>(*world, flow.named_parameters());
        backward = [&averager, n = c.batch_size](const on::Var& loss) { averager->backward(loss, n); };
    }
#endif
    on::optim::Adam opt(flow.parameters(), {.lr = c.lr, .weight_decay = c.weight_decay});
    if (root) {
        std::printf("toy_density: %s, %d iterations of batch %zu, hidden %s (%zu parameters), %s, %s trace, %s gradients, "
                    "%s\nBLAS: %s\n",
                    c.dataset.c_str(), c.iterations, c.batch_size, c.hidden.c_str(), flow.parameter_count(),
                    c.solver.c_str(), c.trace.c_str(), c.grad.c_str(), c.dtype.c_str(), on::blas_summary().c_str());
        if (world) std::printf("distributed: %d rank%s of batch %zu, global batch %zu\n", ranks, ranks == 1 ? "" : "s",
                               c.batch_size, c.batch_size * std::size_t(ranks));
    }

    on::Generator data_gen(c.seed + 1);
    std::optional<util::CsvLog> csv;
    std::optional<util::ProgressBar> bar;
    if (root) {
        csv.emplace((std::filesystem::path(c.out) / "training.csv").string(),
                    std::vector<std::string>{"iteration", "loss", "nfe_forward", "nfe_backward", "end_time", "seconds"});
        bar.emplace(std::size_t(c.iterations), "train");
    }
    std::vector<double> losses;
    const auto start = std::chrono::steady_clock::now();
    for (int it = 1; it <= c.iterations; ++it) {
        const on::Var x = as_var(world ? rank_points(c, it, rank, ranks) : util::sample_toy(c.dataset, c.batch_size, data_gen), dtype);
        if (world) on::manual_seed(step_seed(c.seed, it, 1 + rank));  // the Hutchinson probes
        // A diverged run stops here: nothing but training.csv (its rows so far) is written.
        double loss = 0;
        try {
            loss = train_step(flow, opt, x, backward);
        } catch (const on::Error& e) {
            const std::string where = " at iteration " + std::to_string(it) + " of " + std::to_string(c.iterations);
            const std::string kept = "; training stopped, nothing but " + c.out + "/training.csv (" +
                                     std::to_string(it - 1) + " rows) was written";
            if (dynamic_cast<const on::ValueError*>(&e)) throw on::ValueError("toy_density", e.message() + where + kept);
            throw on::ValueError("toy_density", "training failed" + where + " (" + e.what() + ")" + kept);
        }
        double nfe_f = double(flow.last_nfe()), nfe_b = double(flow.last_backward_nfe());
        if (world) {  // the global batch's loss (equal shards: the mean over ranks) and the mean NFE
            const auto s = sum_over_ranks(world, {loss * double(c.batch_size), double(c.batch_size), nfe_f, nfe_b}, "the metrics");
            loss = s[0] / s[1];
            nfe_f = s[2] / ranks;
            nfe_b = s[3] / ranks;
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        losses.push_back(loss);
        if (!root) continue;
        csv->row({double(it), loss, nfe_f, nfe_b, flow.end_time().item(), seconds});
        if (world) {
            bar->update(std::size_t(it), {{"loss", loss}, {"nfe_f", nfe_f}, {"nfe_b", nfe_b}, {"T", flow.end_time().item()}});
        } else {
            bar->update(std::size_t(it), {{"loss", loss},
                                          {"nfe_f", flow.last_nfe()},
                                          {"nfe_b", flow.last_backward_nfe()},
                                          {"T", flow.end_time().item()}});
        }
    }
    if (root) bar->finish();
    const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    on::Generator test_gen(c.seed + 1000003);
    const on::Tensor<double> test = util::sample_toy(c.dataset, c.test_size, test_gen);
    double nll = 0;
    if (!world) {
        nll = -mean_of(exact_log_prob(flow, test, dtype));
    } else {  // each rank its slice of the held-out points
        const std::size_t lo = c.test_size * std::size_t(rank) / std::size_t(ranks);
        const std::size_t hi = c.test_size * std::size_t(rank + 1) / std::size_t(ranks);
        double part = 0;
        if (hi > lo) {
            const on::Tensor<double> mine = xt::view(test, xt::range(lo, hi), xt::all());
            for (double v : exact_log_prob(flow, mine, dtype)) part += v;
        }
        nll = -sum_over_ranks(world, {part}, "the held-out log-likelihood")[0] / double(c.test_size);
    }
    if (!root) return;
    std::printf("trained in %.1f s (%.1f ms per iteration); learned T = %.4f\n", train_seconds,
                1e3 * train_seconds / std::max(1, c.iterations), flow.end_time().item());
    if (auto h = util::toy_entropy(c.dataset)) {
        std::printf("held-out NLL (exact trace, %zu points): %.4f nats; data entropy %.4f nats; gap %.4f nats\n",
                    c.test_size, nll, *h, nll - *h);
    } else {
        std::printf("held-out NLL (exact trace, %zu points): %.4f nats (no closed-form entropy for %s)\n",
                    c.test_size, nll, c.dataset.c_str());
    }
    write_plots(flow, c, dtype, losses);
    std::printf("wrote %s/{data,density,samples,trajectories,training_curve}.png and training.csv\n", c.out.c_str());
}

#ifdef ODENET_WITH_DISTRIBUTED
// --distributed: one World (MPI), the run inside run_ranks, so that what any rank throws ends the
// whole job with "toy_density: rank r of N: <error>".
int run_distributed(const Config& c) {
    try {
        World world;
        return dist::run_ranks(world, "toy_density", [&] {
            try {
                train(c, &world);
            } catch (const std::exception& e) {  // run_ranks names the program: drop our own prefix
                const std::string what = e.what(), prefix = "toy_density: ";
                if (what.rfind(prefix, 0) == 0) throw std::runtime_error(what.substr(prefix.size()));
                throw;
            }
            return 0;
        });
    } catch (const std::exception& e) {  // MPI failed to start
        std::fprintf(stderr, "toy_density: --distributed: %s\n", e.what());
        return 1;
    }
}
#endif

}  // namespace

int main(int argc, char** argv) {
    odenet::tune_heap_for_training();  // a training loop: keep freed memory for the next step
    Config c;
    CLI::App app{"toy_density: a continuous normalizing flow (FFJORD) on a 2-D toy density"};
    ex::one_line_errors(app, "toy_density");
    add_flags(app, c);
    CLI11_PARSE(app, argc, argv);
    if (c.distributed) {
#ifdef ODENET_WITH_DISTRIBUTED
        return run_distributed(c);
#else
        std::fprintf(stderr, "toy_density: --distributed: this program was built without MPI "
                             "(install libopenmpi-dev openmpi-bin and rebuild)\n");
        return 1;
#endif
    }
    try {
        train(c, nullptr);
    } catch (const on::Error& e) {  // its message starts with where it came from
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "toy_density: %s\n", e.what());
        return 1;
    }
    return 0;
}
