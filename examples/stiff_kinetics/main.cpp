// stiff_kinetics: recover the three rate constants of Robertson's chemical kinetics (Robertson
// 1966; Hairer & Wanner II, Sec. IV.1), k1 = 0.04, k2 = 3e7, k3 = 1e4, from noisy observations
// at log-spaced times up to 1e5, by gradient descent (Adam) on log k with gradients taken by the
// adjoint (or checkpointed) method through an implicit solver (rodas4 by default).
//
//   build/examples/stiff_kinetics/stiff_kinetics --out out/stiff_kinetics
//
// The data are generated here from --seed: the true solution (rodas4 at rtol 1e-10, atol 1e-14,
// the Jacobian in closed form) at --points log-spaced times on [--t-min, --t-max], each value
// multiplied by exp(--noise ε), ε ~ N(0, 1) (lognormal noise: ~1% relative by default). The loss
// is a least squares with each species divided by its largest observed value (fit.hpp says why).
//
// Writes into --out: log.csv (per iteration: loss, the rates at which it was taken, the forward
// and backward solves' counters, seconds), results.csv (true, initial and recovered rates, their
// errors, the gradient check, costs), data.csv (per observation time: truth, observation, fit),
// fit.png (data, initial guess and fit on a log time axis), rates.png (k_i / k_i,true over the
// iterations), loss.png.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/flags.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/odenet.hpp"
#include "odenet/stiff_kinetics/figures.hpp"
#include "odenet/stiff_kinetics/fit.hpp"
#include "odenet/stiff_kinetics/robertson.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace ex = odenet::examples;
namespace sk = odenet::stiff_kinetics;
using on::Var;

namespace {

struct Config {
    std::size_t points = 40, iters = 300, curve_points = 200, seed = 0, threads = 1;
    double t_min = 1e-5, t_max = 1e5, noise = 0.01;
    sk::Rates rates = sk::kTrueRates, init{0.1, 1e8, 1e3};
    double lr = 0.3, lr_final = 0.001, rtol = 1e-6, atol = 1e-10, adjoint_rtol = 1e-6, adjoint_atol = 1e-10;
    double truth_rtol = 1e-10, truth_atol = 1e-14, fd_step = 1e-4;
    std::string solver = "rodas4", grad = "adjoint", dtype = "float64", out = "out/stiff_kinetics";
    bool overwrite = false, seminorm = false;
};

const std::vector<std::string> kOutputs = {"log.csv", "results.csv", "data.csv", "fit.png", "rates.png", "loss.png"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The counters of a solve that the log and the results report.
struct Cost {
    double nfe = 0, njac = 0, nlu = 0, nsolve = 0, accepted = 0, rejected = 0;
    static Cost of(const on::ode::SolveStats& s) {
        return {double(s.nfe), double(s.njac), double(s.nlu), double(s.nsolve), double(s.accepted), double(s.rejected)};
    }
    Cost& operator+=(const Cost& o) {
        nfe += o.nfe, njac += o.njac, nlu += o.nlu, nsolve += o.nsolve, accepted += o.accepted, rejected += o.rejected;
        return *this;
    }
};

sk::Rates rates_of(const Var& log_k) {
    const Var v = on::to_dtype(log_k, on::Dtype::float64);
    const on::Tensor<double>& t = v.value<double>();
    return {std::exp(t(0)), std::exp(t(1)), std::exp(t(2))};
}

std::string rates_text(const sk::Rates& k) {
    char text[96];
    std::snprintf(text, sizeof text, "k1 = %.5g, k2 = %.5g, k3 = %.5g", k[0], k[1], k[2]);
    return text;
}

// The species at curve_points log-spaced times for the figure, from the plain solver in doubles.
sk::Curve curve(const sk::Rates& k, const Config& c) {
    const std::vector<double> ts = sk::log_times(c.t_min, c.t_max, c.curve_points);
    return {ts, sk::solve(k, ts, c.truth_rtol, c.truth_atol)};
}

struct Results {
    sk::Rates recovered{};
    double start_loss = 0, final_loss = 0, true_loss = 0, seconds = 0;
    on::Tensor<double> fitted{};  ///< (points + 1, 3): y(0) and the fit at every observation time
    std::array<double, 3> grad_adjoint{}, grad_fd{};
    Cost last_forward{}, last_backward{}, total_forward{}, total_backward{};
};

void write_results(const fs::path& dir, const Config& c, const sk::Dataset& data, const Results& r) {
    std::string csv = "quantity,value\n";
    auto add = [&csv](const std::string& name, double value) {
        char line[160];
        std::snprintf(line, sizeof line, "%s,%.10g\n", name.c_str(), value);
        csv += line;
    };
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string k = sk::kRateNames[i];
        add(k + "_true", c.rates[i]), add(k + "_initial", c.init[i]), add(k + "_recovered", r.recovered[i]);
        add(k + "_relative_error", r.recovered[i] / c.rates[i] - 1);
    }
    add("loss_initial", r.start_loss), add("loss_final", r.final_loss), add("loss_at_true_rates", r.true_loss);
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string k = sk::kRateNames[i];
        add("grad_log_" + k + "_" + c.grad, r.grad_adjoint[i]), add("grad_log_" + k + "_central_difference", r.grad_fd[i]);
    }
    const auto costs = [&add](const std::string& prefix, const Cost& k) {
        add(prefix + "_nfe", k.nfe), add(prefix + "_njac", k.njac), add(prefix + "_nlu", k.nlu), add(prefix + "_nsolve", k.nsolve);
        add(prefix + "_accepted", k.accepted), add(prefix + "_rejected", k.rejected);
    };
    costs("last_forward", r.last_forward), costs("last_backward", r.last_backward);
    costs("total_forward", r.total_forward), costs("total_backward", r.total_backward);
    add("truth_nfe", double(data.stats.nfe)), add("iterations", double(c.iters)), add("seconds", r.seconds);
    on::nn::write_file_atomic((dir / "results.csv").string(), csv);
}

// The data and the fit at the observation times: t, the truth, the observations, the fit.
void write_data(const fs::path& dir, const sk::Dataset& data, const on::Tensor<double>& fitted) {
    std::string csv = "t,y1_true,y2_true,y3_true,y1_observed,y2_observed,y3_observed,y1_fit,y2_fit,y3_fit\n";
    for (std::size_t i = 0; i < data.ts.size(); ++i) {
        char line[320];
        std::snprintf(line, sizeof line, "%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g,%.10g\n", data.ts[i], data.truth(i, 0),
                      data.truth(i, 1), data.truth(i, 2), data.observed(i, 0), data.observed(i, 1), data.observed(i, 2), fitted(i + 1, 0),
                      fitted(i + 1, 1), fitted(i + 1, 2));
        csv += line;
    }
    on::nn::write_file_atomic((dir / "data.csv").string(), csv);
}

int run(const Config& c) {
    const fs::path dir(c.out);
    ex::prepare_run_folder({.program = "stiff_kinetics", .path = c.out, .outputs = kOutputs, .overwrite = c.overwrite});
    on::set_num_threads(int(c.threads));
    const on::Dtype dtype = c.dtype == "float32" ? on::Dtype::float32 : on::Dtype::float64;
    const on::ode::Method method = on::ode::method_from_name(c.solver);
    const on::ode::Grad grad = on::ode::grad_from_name(c.grad);
    std::printf("stiff_kinetics: Robertson's kinetics with true %s; %zu observations at log-spaced times on [%g, %g] with lognormal "
                "noise %g (seed %zu); fit of log k from %s by Adam (%zu iterations, lr %g cosine-annealed to %g), %s gradients "
                "through %s (rtol %g, atol %g; backward rtol %g, atol %g), %s%s\n",
                rates_text(c.rates).c_str(), c.points, c.t_min, c.t_max, c.noise, c.seed, rates_text(c.init).c_str(), c.iters, c.lr,
                c.lr_final, c.grad.c_str(), c.solver.c_str(), c.rtol, c.atol, c.adjoint_rtol, c.adjoint_atol, c.dtype.c_str(),
                c.seminorm ? ", seminorm" : "");
    std::fflush(stdout);

    const auto start = std::chrono::steady_clock::now();
    const sk::Dataset data = sk::make_dataset(
        {.rates = c.rates, .points = c.points, .t_min = c.t_min, .t_max = c.t_max, .noise = c.noise, .rtol = c.truth_rtol, .atol = c.truth_atol},
        c.seed);
    std::printf("data: the truth by rodas4 (rtol %g, atol %g) in %zu steps, %zu NFE; species scales (largest observed) %.4g, %.4g, %.4g\n",
                c.truth_rtol, c.truth_atol, data.stats.accepted, data.stats.nfe, data.scale[0], data.scale[1], data.scale[2]);
    const sk::Problem problem(data, {.method = method,
                                     .rtol = c.rtol,
                                     .atol = c.atol,
                                     .adjoint_rtol = c.adjoint_rtol,
                                     .adjoint_atol = c.adjoint_atol,
                                     .grad = grad,
                                     .seminorm = c.seminorm,
                                     .dtype = dtype});

    auto log_k_of = [dtype](const sk::Rates& k) {
        on::Tensor<double> v = on::Tensor<double>::from_shape({3});
        for (std::size_t i = 0; i < 3; ++i) v(i) = std::log(k[i]);
        return on::to_dtype(Var(v), dtype);
    };
    Results r;
    {
        on::NoGradGuard no_grad;
        r.true_loss = on::to_dtype(problem.evaluate(log_k_of(c.rates)).loss, on::Dtype::float64).item();
    }
    std::printf("loss at the true rates (the noise floor): %.6g\n", r.true_loss);
    std::fflush(stdout);

    Var log_k = log_k_of(c.init);
    log_k.set_requires_grad();
    on::optim::Adam optimizer({log_k}, {.lr = c.lr});
    on::optim::CosineAnnealingLR schedule(optimizer, {.t_max = long(c.iters), .eta_min = c.lr_final});
    on::util::CsvLog log((dir / "log.csv").string(),
                         {"iteration", "loss", "k1", "k2", "k3", "forward_nfe", "forward_njac", "forward_nlu", "forward_accepted",
                          "forward_rejected", "backward_nfe", "backward_njac", "backward_nlu", "seconds"});
    std::vector<sk::Rates> path;
    std::vector<double> losses;
    on::util::ProgressBar bar(c.iters, "fit");
    for (std::size_t it = 1; it <= c.iters; ++it) {
        const sk::Rates k = rates_of(log_k);
        optimizer.zero_grad();
        // A solve that fails is reported with the iteration and the rates it was at. Starts far
        // off can fail: k2 = 1e12, k3 = 1e-3 ends in a step size underflow at t ~ 5e3, where y2
        // sits far below atol, so a y2 < 0 within tolerance is allowed, and there y2' = -k2 y2^2
        // runs away (the likely cause; not traced step by step).
        const auto at = [&] { return "at iteration " + std::to_string(it) + " (" + rates_text(k) + "): "; };
        const sk::Evaluation e = [&] {
            try {
                return problem.evaluate(log_k);
            } catch (const on::SolverError& err) {
                throw on::ValueError("stiff_kinetics", at() + err.what());
            }
        }();
        const double loss = on::to_dtype(e.loss, on::Dtype::float64).item();
        if (!std::isfinite(loss)) throw on::ValueError("stiff_kinetics", at() + "the loss became " + std::to_string(loss));
        try {
            on::backward(e.loss);
        } catch (const on::SolverError& err) {
            throw on::ValueError("stiff_kinetics", at() + err.what());
        }
        if (auto bad = ex::first_nonfinite_grad({{"log_k", log_k}}))
            throw on::ValueError("stiff_kinetics", at() + "the gradient of " + *bad);
        r.last_forward = Cost::of(e.solution.forward), r.last_backward = Cost::of(e.solution.backward());
        r.total_forward += r.last_forward, r.total_backward += r.last_backward;
        if (it == 1) {
            r.start_loss = loss;
            const Var g = on::to_dtype(log_k.grad(), on::Dtype::float64);
            for (std::size_t i = 0; i < 3; ++i) r.grad_adjoint[i] = g.value<double>()(i);
            sk::Rates log_init{};
            for (std::size_t i = 0; i < 3; ++i) log_init[i] = std::log(c.init[i]);
            r.grad_fd = problem.finite_difference_gradient(log_init, c.fd_step, c.truth_rtol, c.truth_atol);
            double worst = 0;
            for (std::size_t i = 0; i < 3; ++i) worst = std::max(worst, std::abs(r.grad_adjoint[i] - r.grad_fd[i]) / std::abs(r.grad_fd[i]));
            char line[512];
            std::snprintf(line, sizeof line,
                          "gradient check at the start, dL/dlog k: %s (%s, rtol %g) %.6g %.6g %.6g; central differences (h %g, rtol %g) %.6g "
                          "%.6g %.6g; largest relative difference %.2g",
                          c.grad.c_str(), c.solver.c_str(), c.rtol, r.grad_adjoint[0], r.grad_adjoint[1], r.grad_adjoint[2], c.fd_step,
                          c.truth_rtol, r.grad_fd[0], r.grad_fd[1], r.grad_fd[2], worst);
            bar.write(line);
        }
        optimizer.step();
        schedule.step();
        path.push_back(k), losses.push_back(loss);
        log.row({double(it), loss, k[0], k[1], k[2], r.last_forward.nfe, r.last_forward.njac, r.last_forward.nlu, r.last_forward.accepted,
                 r.last_forward.rejected, r.last_backward.nfe, r.last_backward.njac, r.last_backward.nlu, seconds_since(start)});
        bar.update(it, {{"loss", loss}, {"nfe_f", std::size_t(r.last_forward.nfe)}, {"nfe_b", std::size_t(r.last_backward.nfe)},
                        {"njac", std::size_t(r.last_forward.njac + r.last_backward.njac)}});
    }
    bar.finish();
    if (auto bad = ex::first_nonfinite_value({{"log_k", log_k}})) throw on::ValueError("stiff_kinetics", "after the fit, " + *bad);
    r.recovered = rates_of(log_k);
    path.push_back(r.recovered);
    {
        on::NoGradGuard no_grad;
        const sk::Evaluation e = problem.evaluate(log_k);
        r.final_loss = on::to_dtype(e.loss, on::Dtype::float64).item();
        r.fitted = on::to_dtype(e.solution.ys, on::Dtype::float64).value<double>();
    }
    r.seconds = seconds_since(start);

    std::printf("\n%-4s %12s %12s %12s %10s\n", "", "true", "initial", "recovered", "rel.error");
    for (std::size_t i = 0; i < 3; ++i)
        std::printf("%-4s %12.6g %12.6g %12.6g %+9.3f%%\n", sk::kRateNames[i], c.rates[i], c.init[i], r.recovered[i],
                    100 * (r.recovered[i] / c.rates[i] - 1));
    std::printf("loss: %.6g at the start, %.6g at the end, %.6g at the true rates\n", r.start_loss, r.final_loss, r.true_loss);
    std::printf("last iteration: forward %.0f NFE, %.0f Jacobians, %.0f LU, %.0f steps (%.0f rejected); backward %.0f NFE, %.0f Jacobians, "
                "%.0f LU, %.0f steps (%.0f rejected)\n",
                r.last_forward.nfe, r.last_forward.njac, r.last_forward.nlu, r.last_forward.accepted, r.last_forward.rejected,
                r.last_backward.nfe, r.last_backward.njac, r.last_backward.nlu, r.last_backward.accepted, r.last_backward.rejected);
    std::printf("all %zu iterations: forward %.0f NFE, %.0f Jacobians; backward %.0f NFE, %.0f Jacobians; %.1f s\n", c.iters,
                r.total_forward.nfe, r.total_forward.njac, r.total_backward.nfe, r.total_backward.njac, r.seconds);
    std::fflush(stdout);

    write_results(dir, c, data, r);
    write_data(dir, data, r.fitted);
    sk::save_fit_figure((dir / "fit.png").string(), data, curve(c.init, c), curve(r.recovered, c));
    sk::save_rates_figure((dir / "rates.png").string(), path, c.rates, 1.0);
    sk::save_loss_figure((dir / "loss.png").string(), losses, r.true_loss);
    std::printf("wrote %s/{log.csv,results.csv,data.csv,fit.png,rates.png,loss.png}\n", c.out.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    on::tune_heap_for_training();
    CLI::App app{"Recover the rate constants of Robertson's stiff chemical kinetics (k1 = 0.04, k2 = 3e7, k3 = 1e4) from noisy "
                 "observations, by Adam on log k with adjoint gradients through an implicit solver"};
    ex::one_line_errors(app, "stiff_kinetics");
    app.footer("Fixed constants: y(0) = (1, 0, 0); the observation times are log-spaced and include both ends; the truth is solved by "
               "rodas4 with the Jacobian in closed form; the loss divides each species by its largest observed value; the learning "
               "rate follows a cosine from --lr to --lr-final over --iters; the gradient check at the start uses central differences "
               "of float64 solves at the truth's tolerances. float32 works down to --rtol 1e-6 (below, its rounding swamps the "
               "error estimate).");
    Config c;
    ex::add_whole(app, "--points", c.points, 2, 100000, "observation times, log-spaced on [--t-min, --t-max]");
    app.add_option("--t-min", c.t_min, "first observation time, in (0, 1e3]")->check(ex::finite_number({.lo = 0, .hi = 1e3, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--t-max", c.t_max, "last observation time, in (0, 1e7]")->check(ex::finite_number({.lo = 0, .hi = 1e7, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--noise", c.noise, "std of the lognormal noise: y_obs = y exp(noise N(0, 1)), in [0, 1]")
        ->check(ex::finite_number({.lo = 0, .hi = 1}))->capture_default_str();
    const ex::Interval rate{.lo = 0, .hi = 1e12, .lo_open = true};
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string k = sk::kRateNames[i];
        app.add_option("--" + k, c.rates[i], "true " + k + " of the data, in (0, 1e12]")->check(ex::finite_number(rate))->capture_default_str();
        app.add_option("--" + k + "-init", c.init[i], "initial guess of " + k + ", in (0, 1e12]")->check(ex::finite_number(rate))
            ->capture_default_str();
    }
    ex::add_whole(app, "--iters", c.iters, 1, 1000000, "Adam iterations (one forward and one backward solve each)");
    app.add_option("--lr", c.lr, "Adam learning rate on log k, in (0, 10]")->check(ex::finite_number({.lo = 0, .hi = 10, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--lr-final", c.lr_final, "learning rate at the last iteration (cosine schedule), in [0, --lr]")
        ->check(ex::finite_number({.lo = 0, .hi = 10}))->capture_default_str();
    app.add_option("--solver", c.solver, "implicit method of the fit: rodas4, rosenbrock23, trbdf2")
        ->check(ex::name_list(1, 1, {"rodas4", "rosenbrock23", "trbdf2"}))->capture_default_str();
    app.add_option("--grad", c.grad,
                   "gradient: adjoint or checkpointed (through an implicit method odeint takes one path for both: a backward solve "
                   "of [a, a_theta] reading y(t) from the forward's steps)")
        ->check(ex::name_list(1, 1, {"adjoint", "checkpointed"}))
        ->capture_default_str();
    app.add_option("--dtype", c.dtype,
                   "float64 or float32: the state, the rates and f's arithmetic (the implicit solver's own linear algebra is in double)")
        ->check(ex::name_list(1, 1, {"float64", "float32"}))->capture_default_str();
    app.add_option("--rtol", c.rtol, "the fit's relative tolerance, in (0, 0.1]")
        ->check(ex::finite_number({.lo = 0, .hi = 0.1, .lo_open = true}))
        ->capture_default_str();
    app.add_option("--atol", c.atol,
                   "the fit's absolute tolerance, in (0, 0.1] (y2 peaks at 3.6e-5 and is 7e-8 at t = 1e5, y3 is 1.6e-11 at t = 1e-5)")
        ->check(ex::finite_number({.lo = 0, .hi = 0.1, .lo_open = true}))->capture_default_str();
    app.add_option("--adjoint-rtol", c.adjoint_rtol, "relative tolerance of the backward solve, in (0, 0.1]")
        ->check(ex::finite_number({.lo = 0, .hi = 0.1, .lo_open = true}))->capture_default_str();
    app.add_option("--adjoint-atol", c.adjoint_atol, "absolute tolerance of the backward solve, in (0, 0.1]")
        ->check(ex::finite_number({.lo = 0, .hi = 0.1, .lo_open = true}))->capture_default_str();
    app.add_option("--truth-rtol", c.truth_rtol, "relative tolerance of the data's and the figure's solves, in [1e-13, 1e-3]")
        ->check(ex::finite_number({.lo = 1e-13, .hi = 1e-3}))->capture_default_str();
    app.add_option("--truth-atol", c.truth_atol, "their absolute tolerance, in [1e-20, 1e-3]")
        ->check(ex::finite_number({.lo = 1e-20, .hi = 1e-3}))
        ->capture_default_str();
    app.add_option("--fd-step", c.fd_step, "step in log k of the central-difference gradient check, in (0, 0.1]")
        ->check(ex::finite_number({.lo = 0, .hi = 0.1, .lo_open = true}))->capture_default_str();
    ex::add_whole(app, "--curve-points", c.curve_points, 2, 100000, "times at which fit.png draws the curves");
    ex::add_whole(app, "--seed", c.seed, 0, 1000000000000LL, "random seed (the noise)");
    ex::add_whole(app, "--threads", c.threads, 1, 1024, "odenet threads");
    app.add_option("--out", c.out, "output folder")->check(ex::non_empty())->capture_default_str();
    app.add_flag("--seminorm", c.seminorm, "leave the adjoint's parameter-gradient channels out of its error norm (Kidger et al. 2021)");
    app.add_flag("--overwrite", c.overwrite, "replace the run in --out");
    CLI11_PARSE(app, argc, argv);
    try {
        char what[200];
        if (!(c.t_min < c.t_max)) {
            std::snprintf(what, sizeof what, "--t-min %g must be below --t-max %g", c.t_min, c.t_max);
            throw on::ValueError("stiff_kinetics", what);
        }
        if (c.lr_final > c.lr) {
            std::snprintf(what, sizeof what, "--lr-final %g must be at most --lr %g", c.lr_final, c.lr);
            throw on::ValueError("stiff_kinetics", what);
        }
        // float32's rounding (eps 1.2e-7) in f shows in the error estimate: at rtol 1e-6 the
        // forward takes ~1.7x the steps of float64 (64 of 444 rejected), at 1e-7 ~12x (564 of
        // 3101 rejected) for the same gradient. Below 1e-6 float32 buys nothing.
        if (c.dtype == "float32" && c.rtol < 1e-6) {
            std::snprintf(what, sizeof what,
                          "--dtype float32 carries ~7 digits: --rtol %g is below what its rounding lets the error estimate resolve "
                          "(use --rtol 1e-6 or more, or float64)",
                          c.rtol);
            throw on::ValueError("stiff_kinetics", what);
        }
        return run(c);
    } catch (const std::exception& e) {
        const std::string what = e.what();  // the program's own errors already start with its name
        std::fprintf(stderr, "%s%s\n", what.starts_with("stiff_kinetics: ") ? "" : "stiff_kinetics: ", what.c_str());
        return 1;
    }
}
