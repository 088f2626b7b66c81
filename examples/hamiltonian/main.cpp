// hamiltonian: Hamiltonian neural networks (Greydanus, Dzamba & Yosinski, NeurIPS 2019) on the
// ideal pendulum and mass-spring of their sections 4.1-4.2. For each system three models learn
// the time derivatives [dq/dt, dp/dt] of noisy observed states (the paper's training signal; no
// solver in the training loop, so every model sees exactly the same data and loss):
//   HNN            the symplectic gradient of a learned H(q, p)              (nn::Hamiltonian)
//   separable HNN  the same with H = T(p) + V(q)                          (nn::SeparableHamiltonian)
//   MLP            the baseline: an MLP outputs [dq/dt, dp/dt] directly
// Then each is rolled out for --periods periods of 2π (the small-oscillation period) from
// held-out initial states, with dopri5 and, for the separable HNN, with Yoshida's (1990)
// fourth-order symplectic integrator, and the *true* energy along each rollout is compared.
//
//   build/examples/hamiltonian/hamiltonian --out out/hamiltonian
//
// Writes into --out: log.csv (per system, model and iteration: training loss, seconds),
// results.csv (per system, model and integrator: parameters, training and held-out loss, energy
// drift, trajectory errors, NFE, seconds), phase.png and energy.png (the first held-out state's
// rollouts: phase portraits and true energy over time), loss.png (training curves).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <sstream>

#include <CLI/CLI.hpp>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/hamiltonian/figures.hpp"
#include "odenet/hamiltonian/models.hpp"
#include "odenet/hamiltonian/systems.hpp"
#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace ex = odenet::examples;
namespace hm = odenet::hamiltonian;
using on::Var;

namespace {

struct Config {
    std::string systems = "pendulum,spring", out = "out/hamiltonian";
    std::size_t trajectories = 25, iters = 2000, hidden = 200, separable_hidden = 141, test_states = 8, periods = 100, seed = 0,
                threads = 1;
    double t_span = 3.0, dt = 0.1, noise = 0.1, e_min = 0.2, e_max = 1.0, lr = 1e-3, rtol = 1e-8, step = 0.1;
    bool overwrite = false;
};

const std::vector<std::string> kOutputs = {"log.csv", "results.csv", "phase.png", "energy.png", "loss.png"};
constexpr double kSpacing = 0.1;  // rollout output spacing (time units)
constexpr double kPeriod = 2 * std::numbers::pi;
constexpr hm::Kind kKinds[] = {hm::Kind::hnn, hm::Kind::separable, hm::Kind::mlp};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<std::string> split_names(const std::string& text) {
    std::vector<std::string> names;
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) names.push_back(item);
    return names;
}

// Mean squared error of the predicted time derivatives.
Var derivative_loss(on::nn::TimeLayer& model, const hm::Dataset& d) {
    return on::mean(on::square(model.forward(Var::scalar(0.0), Var(d.y)) - Var(d.dydt)));
}

struct Trained {
    hm::Kind kind{};
    std::shared_ptr<on::nn::TimeLayer> model;
    double train_loss = 0, test_loss = 0, seconds = 0;
    std::vector<double> losses{};
};

Trained train(hm::Kind kind, hm::System s, const Config& c, const hm::Dataset& data, const hm::Dataset& test, on::util::CsvLog& log) {
    on::manual_seed(c.seed);  // every model starts from the same draws (up to shapes)
    Trained t{.kind = kind, .model = hm::make_model(kind, c.hidden, c.separable_hidden)};
    on::optim::Adam optimizer(t.model->parameters(), {.lr = c.lr});
    const std::string label = std::string(hm::system_name(s)) + ", " + hm::kind_name(kind);
    std::printf("%s: %zu parameters\n", label.c_str(), t.model->parameter_count());
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    on::util::ProgressBar bar(c.iters, label);
    for (std::size_t it = 1; it <= c.iters; ++it) {
        Var loss = derivative_loss(*t.model, data);
        const double value = loss.item();
        if (!std::isfinite(value))
            throw on::ValueError("hamiltonian", label + ": the training loss became " + std::to_string(value) + " at iteration " + std::to_string(it));
        optimizer.zero_grad();
        on::backward(loss);
        const auto named = t.model->named_parameters();
        if (auto bad = ex::first_nonfinite_grad(named)) throw on::ValueError("hamiltonian", label + ": the gradient of " + *bad);
        optimizer.step();
        t.losses.push_back(value);
        log.row({double(s), double(kind), double(it), value, seconds_since(start)});
        bar.update(it, {{"loss", value}});
    }
    bar.finish();
    t.seconds = seconds_since(start);
    on::NoGradGuard no_grad;
    t.train_loss = derivative_loss(*t.model, data).item(), t.test_loss = derivative_loss(*t.model, test).item();
    return t;
}

// max over t of |H̃(y(t)) − H̃(y0)| for the model's learned H̃, mean over the K states; ys (T, K, 2).
double learned_drift(const Trained& t, const Var& ys, std::size_t steps, std::size_t k) {
    const Var h = on::to_dtype(hm::learned_energy(*t.model, t.kind, on::reshape(ys, {steps * k, 2})), on::Dtype::float64);
    const on::Tensor<double> e = h.value<double>();
    double total = 0;
    for (std::size_t j = 0; j < k; ++j) {
        double worst = 0;
        for (std::size_t i = 0; i < steps; ++i) worst = std::max(worst, std::abs(e(i * k + j, 0) - e(j, 0)));
        total += worst;
    }
    return total / double(k);
}

// A rollout (len(ts), K, 2) of a model from y0 (K, 2): rows for dopri5, planes (2, K, 1) for the
// symplectic method (it splits the flattened state in halves).
hm::Rollout rollout(const Trained& t, const on::Tensor<double>& y0, const std::vector<double>& ts, const Config& c,
                    on::ode::Method method) {
    on::NoGradGuard no_grad;
    const std::size_t k = y0.shape()[0];
    const bool symplectic = on::ode::is_symplectic(method);
    on::ode::OdeintOptions options;
    options.solver = symplectic ? on::ode::Options{.method = method, .max_steps = 100000000, .step_size = c.step}
                                : on::ode::Options{.method = method, .rtol = c.rtol, .atol = c.rtol, .max_steps = 100000000};
    // Under NoGradGuard nothing is recorded in either mode; odeint runs the symplectic methods in
    // direct mode only, and the adjoint's forward solve is the plain solver.
    options.grad = symplectic ? on::ode::Grad::direct : on::ode::Grad::adjoint;
    Var y = Var(y0);
    if (symplectic) y = on::permute(on::reshape(y, {k, 2, 1}), {1, 0, 2});
    const auto start = std::chrono::steady_clock::now();
    on::Tensor<double> times = on::Tensor<double>::from_shape({ts.size()});
    std::copy(ts.begin(), ts.end(), times.begin());
    const auto sol = on::nn::odeint(t.model, y, Var(times), options);
    Var ys = sol.ys;
    if (symplectic) ys = on::reshape(on::permute(on::reshape(ys, {ts.size(), 2, k}), {0, 2, 1}), {ts.size(), k, 2});
    hm::Rollout r{.model = std::string(hm::kind_name(t.kind)), .method = std::string(on::ode::method_name(method)),
                  .ys = on::to_dtype(ys, on::Dtype::float64).value<double>(), .nfe = sol.forward.nfe, .seconds = seconds_since(start)};
    if (t.kind != hm::Kind::mlp) r.learned_drift = learned_drift(t, ys, ts.size(), k);
    return r;
}

}  // namespace

namespace {

// The reference row: the exact H integrated by the symplectic method, the integrator's own error.
hm::Rollout exact_symplectic(hm::System s, const on::Tensor<double>& y0, const std::vector<double>& ts, const Config& c) {
    const std::size_t k = y0.shape()[0];
    on::Tensor<double> planes = on::Tensor<double>::from_shape({2 * k});  // [q; p]: the halves the stepper splits
    for (std::size_t j = 0; j < k; ++j) planes(j) = y0(j, 0), planes(k + j) = y0(j, 1);
    auto f = [s, k](double /*t*/, const on::Tensor<double>& y) {
        on::Tensor<double> d = on::Tensor<double>::from_shape({2 * k});
        for (std::size_t j = 0; j < k; ++j)
            d(j) = y(k + j), d(k + j) = s == hm::System::pendulum ? -std::sin(y(j)) : -y(j);
        return d;
    };
    const auto start = std::chrono::steady_clock::now();
    const auto sol = on::ode::solve(f, planes, ts, {.method = on::ode::Method::yoshida4, .max_steps = 100000000, .step_size = c.step});
    on::Tensor<double> ys = on::Tensor<double>::from_shape({ts.size(), k, 2});
    for (std::size_t i = 0; i < ts.size(); ++i)
        for (std::size_t j = 0; j < k; ++j) ys(i, j, 0) = sol.ys[i](j), ys(i, j, 1) = sol.ys[i](k + j);
    return {.model = "exact H", .method = "yoshida4", .ys = ys, .nfe = sol.stats.nfe, .seconds = seconds_since(start)};
}

struct Row {
    std::string system, model, method;
    std::size_t parameters = 0;
    double train_loss = NAN, test_loss = NAN;
    hm::Metrics metrics{};
    std::size_t nfe = 0;
    double seconds = 0, learned_drift = NAN;
};

void print_table(const std::vector<Row>& rows, const Config& c) {
    std::printf("\nrollouts of %zu periods (t = 0 .. %.1f) from %zu held-out states, means over the states. drift_end: |H(y(T)) - "
                "H(y0)| / H(y0) of the TRUE H; drift_max: its maximum over the rollout; learned_dH: max |H~(y(t)) - H~(y0)| of the "
                "model's own H~; err_period1, err_mean: |y(t) - y_true(t)| averaged over the first period and over the rollout\n",
                c.periods, double(c.periods) * kPeriod, c.test_states);
    std::printf("%-9s %-14s %-9s %7s %10s %10s %11s %11s %12s %12s %11s %9s\n", "system", "model", "method", "params", "train_mse",
                "test_mse", "drift_end", "drift_max", "learned_dH", "err_period1", "err_mean", "nfe");
    for (const Row& r : rows)
        std::printf("%-9s %-14s %-9s %7zu %10.3g %10.3g %11.3g %11.3g %12.3g %12.3g %11.3g %9zu\n", r.system.c_str(), r.model.c_str(),
                    r.method.c_str(), r.parameters, r.train_loss, r.test_loss, r.metrics.drift_end, r.metrics.drift_max, r.learned_drift,
                    r.metrics.error_first_period, r.metrics.error_mean, r.nfe);
    std::fflush(stdout);
}

void write_results(const fs::path& dir, const std::vector<Row>& rows) {
    std::string csv = "system,model,method,parameters,train_mse,test_mse,energy_drift_end,energy_drift_max,learned_energy_change,"
                      "error_first_period,error_mean,rollout_nfe,rollout_seconds\n";
    for (const Row& r : rows) {
        char line[512];
        std::snprintf(line, sizeof line, "%s,%s,%s,%zu,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%zu,%.4g\n", r.system.c_str(),
                      r.model.c_str(), r.method.c_str(), r.parameters, r.train_loss, r.test_loss, r.metrics.drift_end, r.metrics.drift_max,
                      r.learned_drift, r.metrics.error_first_period, r.metrics.error_mean, r.nfe, r.seconds);
        csv += line;
    }
    on::nn::write_file_atomic((dir / "results.csv").string(), csv);
}

// Trains the three models on one system, rolls them out, and returns the table's rows.
std::vector<Row> run_system(hm::System s, const Config& c, on::util::CsvLog& log, std::vector<hm::Panel>& panels,
                            std::vector<hm::Curve>& curves) {
    const hm::DataOptions data_options{.trajectories = c.trajectories, .t_span = c.t_span, .dt = c.dt, .noise = c.noise, .e_min = c.e_min,
                                       .e_max = c.e_max};
    const hm::Dataset data = hm::make_dataset(s, data_options, c.seed), test = hm::make_dataset(s, data_options, c.seed + 1);
    const on::Tensor<double> y0 = hm::initial_states(s, c.test_states, c.e_min, c.e_max, c.seed + 2);
    std::vector<double> ts;
    const std::size_t count = std::size_t(std::llround(double(c.periods) * kPeriod / kSpacing));
    for (std::size_t i = 0; i <= count; ++i) ts.push_back(double(i) * kSpacing);
    const on::Tensor<double> truth = hm::true_rollout(s, y0, ts);
    hm::Panel panel{.system = s, .ts = ts, .truth = truth};
    std::vector<Row> rows;
    auto add = [&](hm::Rollout r, std::size_t parameters, double train_loss, double test_loss) {
        const hm::Metrics m = hm::measure(s, r.ys, truth, ts, kPeriod);
        rows.push_back({hm::system_name(s), r.model, r.method, parameters, train_loss, test_loss, m, r.nfe, r.seconds, r.learned_drift});
        std::printf("%s, %s with %s: energy drift %.3g (end), %.3g (max); %zu NFE, %.1f s\n", hm::system_name(s), r.model.c_str(),
                    r.method.c_str(), m.drift_end, m.drift_max, r.nfe, r.seconds);
        std::fflush(stdout);
        panel.rollouts.push_back(std::move(r));
    };
    for (hm::Kind kind : kKinds) {
        const Trained t = train(kind, s, c, data, test, log);
        curves.push_back({std::string(hm::system_name(s)) + ", " + hm::kind_name(kind), t.losses});
        std::printf("%s, %s: derivative MSE %.4g (training), %.4g (held out); %.1f s\n", hm::system_name(s), hm::kind_name(kind), t.train_loss,
                    t.test_loss, t.seconds);
        const std::size_t params = t.model->parameter_count();
        add(rollout(t, y0, ts, c, on::ode::Method::dopri5), params, t.train_loss, t.test_loss);
        // The symplectic integrator needs a separable field: the separable HNN only (the MLP's
        // field and the general HNN's are not of the form [F(p), G(q)]).
        if (kind == hm::Kind::separable) add(rollout(t, y0, ts, c, on::ode::Method::yoshida4), params, t.train_loss, t.test_loss);
    }
    // References: the exact H through each integrator, the integrators' own share of the drift.
    std::size_t nfe = 0;
    const auto start = std::chrono::steady_clock::now();
    hm::Rollout exact_dopri5{.model = "exact H", .method = "dopri5", .ys = hm::true_rollout(s, y0, ts, c.rtol, &nfe)};
    exact_dopri5.nfe = nfe, exact_dopri5.seconds = seconds_since(start);
    add(std::move(exact_dopri5), 0, NAN, NAN);
    add(exact_symplectic(s, y0, ts, c), 0, NAN, NAN);
    panels.push_back(std::move(panel));
    return rows;
}

int run(const Config& c) {
    const fs::path dir(c.out);
    ex::prepare_run_folder({.program = "hamiltonian", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
    on::set_num_threads(int(c.threads));
    std::printf("hamiltonian: per system %zu training trajectories (and %zu held out) with energies uniform on [%g, %g], observed on [0, %g] "
                "every %g with Gaussian noise std %g on q and p; MLPs of hidden width %zu (separable HNN: %zu), %zu Adam iterations "
                "(lr %g, full batch); rollouts of %zu periods of 2 pi from %zu held-out states, dopri5 rtol = atol = %g, yoshida4 step %g\n",
                c.trajectories, c.trajectories, c.e_min, c.e_max, c.t_span, c.dt, c.noise, c.hidden, c.separable_hidden, c.iters, c.lr,
                c.periods, c.test_states, c.rtol, c.step);
    std::fflush(stdout);
    on::util::CsvLog log((dir / "log.csv").string(), {"system", "model", "iteration", "loss", "seconds"});
    std::vector<Row> rows;
    std::vector<hm::Panel> panels;
    std::vector<hm::Curve> curves;
    for (const std::string& name : split_names(c.systems)) {
        std::vector<Row> r = run_system(hm::system_from_name(name), c, log, panels, curves);
        rows.insert(rows.end(), r.begin(), r.end());
    }
    print_table(rows, c);
    write_results(dir, rows);
    hm::save_phase_figure((dir / "phase.png").string(), panels);
    hm::save_energy_figure((dir / "energy.png").string(), panels);
    hm::save_loss_figure((dir / "loss.png").string(), curves);
    std::printf("wrote %s/{log.csv,results.csv,phase.png,energy.png,loss.png}\n", c.out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    on::tune_heap_for_training();
    CLI::App app{"Hamiltonian neural networks (Greydanus, Dzamba & Yosinski 2019) against an MLP on the ideal pendulum "
                 "H = p^2/2 + (1 - cos q) and the mass-spring H = p^2/2 + q^2/2 (all constants 1)"};
    ex::one_line_errors(app, "hamiltonian");
    app.footer("Fixed constants: mass, length, gravity and spring constant 1; each initial state at a uniformly random point of its "
               "energy's orbit; training targets are the exact [dq/dt, dp/dt] at the noise-free states (Greydanus et al.'s "
               "protocol), the loss their mean squared error, full batch; every model starts from the same seed; the truth is "
               "dopri5 at rtol = atol = 1e-10; rollouts are sampled every 0.1 time units; a period is 2 pi (the small-oscillation "
               "period; the pendulum's is longer at higher energies); held-out data: seed + 1, held-out initial states: seed + 2.");
    Config c;
    const ex::Interval positive{.lo = 0, .lo_open = true};
    app.add_option("--systems", c.systems, "systems to learn, comma-separated: pendulum, spring")
        ->check(ex::name_list(1, 2, {"pendulum", "spring"}))->capture_default_str();
    ex::add_whole(app, "--trajectories", c.trajectories, 1, 10000, "training trajectories per system (as many held out for the test loss)");
    app.add_option("--t-span", c.t_span, "each trajectory is observed on [0, t-span]")->check(ex::finite_number({.lo = 0, .hi = 1000, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--dt", c.dt, "spacing of the observations (at most --t-span)")->check(ex::finite_number({.lo = 0, .hi = 1000, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--noise", c.noise, "std of the Gaussian noise added to q and to p")->check(ex::finite_number({.lo = 0, .hi = 10}))
        ->capture_default_str();
    app.add_option("--e-min", c.e_min, "lowest initial energy")->check(ex::finite_number({.lo = 0, .hi = 1.9, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--e-max", c.e_max, "highest initial energy (below the pendulum's separatrix at 2)")
        ->check(ex::finite_number({.lo = 0, .hi = 1.9, .lo_open = true}))->capture_default_str();
    ex::add_whole(app, "--iters", c.iters, 1, 10000000, "Adam iterations per model (full batch)");
    ex::add_whole(app, "--hidden", c.hidden, 1, 4096, "hidden width of the HNN's H and of the MLP (two hidden layers)");
    ex::add_whole(app, "--separable-hidden", c.separable_hidden, 1, 4096, "hidden width of each of the separable HNN's T(p) and V(q)");
    ex::add_whole(app, "--test-states", c.test_states, 1, 10000, "held-out initial states rolled out");
    ex::add_whole(app, "--periods", c.periods, 1, 10000, "rollout length in periods of 2 pi");
    ex::add_whole(app, "--seed", c.seed, 0, 1000000000000LL, "random seed (data, weights)");
    ex::add_whole(app, "--threads", c.threads, 1, 1024, "odenet threads");
    app.add_option("--lr", c.lr, "Adam learning rate")->check(ex::finite_number(positive))->capture_default_str();
    app.add_option("--rtol", c.rtol, "dopri5 rollout tolerance (rtol = atol)")->check(ex::finite_number({.lo = 0, .hi = 1, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--step", c.step, "yoshida4 step size, in (0, 1]")
        ->check(ex::finite_number({.lo = 0, .hi = 1, .lo_open = true}))->capture_default_str();
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--overwrite", c.overwrite, "replace the run in --out");
    CLI11_PARSE(app, argc, argv);
    try {
        char what[160];
        if (!(c.e_min < c.e_max)) {
            std::snprintf(what, sizeof what, "--e-min %g must be below --e-max %g", c.e_min, c.e_max);
            throw on::ValueError("hamiltonian", what);
        }
        if (c.dt > c.t_span) {
            std::snprintf(what, sizeof what, "--dt %g must be at most --t-span %g", c.dt, c.t_span);
            throw on::ValueError("hamiltonian", what);
        }
        // The training batch is every observation at once: keep it to what fits in memory.
        if (double(c.trajectories) * (std::floor(c.t_span / c.dt) + 1) > 1e6) {
            std::snprintf(what, sizeof what, "--trajectories %zu x (--t-span %g / --dt %g + 1) observations exceed the limit of 1e6", c.trajectories,
                          c.t_span, c.dt);
            throw on::ValueError("hamiltonian", what);
        }
        return run(c);
    } catch (const std::exception& e) {
        const std::string what = e.what();  // the program's own errors already start with its name
        std::fprintf(stderr, "%s%s\n", what.starts_with("hamiltonian: ") ? "" : "hamiltonian: ", what.c_str());
        return 1;
    }
}
