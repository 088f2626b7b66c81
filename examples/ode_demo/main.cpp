// ode_demo: torchdiffeq's examples/ode_demo.py. A small network learns the spiral dy/dt = y³ A from
// random windows of its true trajectory; every --test-freq iterations it predicts the whole
// trajectory from y0 and prints the mean absolute error. Writes into --out:
//   ode_demo.png  trajectories x(t), y(t) and phase portrait, true and learned; the learned flow
//   training.csv  iteration, loss, nfe_forward, nfe_backward, seconds, test_loss (nan between tests)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "odenet/odenet.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/progress.hpp"

namespace on = odenet;
namespace fs = std::filesystem;
namespace util = odenet::util;
using on::Var;

namespace {

struct Config {
    std::string method = "dopri5", out = "out/ode_demo";
    long data_size = 1000, batch_time = 10, batch_size = 20, niters = 2000, test_freq = 20, viz_every = 0;
    long seed = 0, threads = 1;
    double lr = 1e-3;
    bool adjoint = false, overwrite = false;
};

// A check on a flag's text: a number in [lo, hi]. NaN fails every comparison; inf, the bound.
CLI::Validator within(double lo, double hi, const std::string& what) {
    return {[=](std::string& s) {
        char* end = nullptr;
        const double v = std::strtod(s.c_str(), &end);
        return !s.empty() && *end == '\0' && v >= lo && v <= hi ? std::string() : s + " is not " + what; }, what};
}

std::string check_method(std::string& name) try {
    return on::ode::method_from_name(name), std::string();
} catch (const on::ValueError& e) { return e.what(); }  // it lists the valid names

// ODEFunc's input transform: the network sees y³, as the true dynamics do.
struct Cube : on::nn::Layer { Var forward(const Var& y) override { return on::pow(y, 3.0); } };

// Component j of every state of ys (T, 1, 2).
std::vector<double> component(const Var& ys, std::size_t j) {
    std::vector<double> out;
    for (std::size_t i = 0; i < ys.shape()[0]; ++i) out.push_back(ys.value<double>().flat(2 * i + j));
    return out;
}

// The original's three panels side by side; its streamplot becomes the flow of a 15 x 15 grid
// of points for 0.1 time units (grey paths from blue starts to red ends).
void write_figure(const fs::path& path, const Var& t, const Var& true_y, const Var& pred_y,
                  const std::shared_ptr<on::nn::Layer>& func, const on::ode::OdeintOptions& options) {
    const std::vector<double> ts(t.value<double>().begin(), t.value<double>().end());
    const std::vector<double> x = component(true_y, 0), y = component(true_y, 1);
    const std::vector<double> px = component(pred_y, 0), py = component(pred_y, 1);
    const util::Range box{-2, 2, -2, 2};
    on::NoGradGuard no_grad;
    const Var paths = on::nn::odeint(func, Var(util::grid_points(box, 15)), on::linspace(0, 0.1, 11), options);
    std::vector<util::Image> panels{
        util::line_plot({{"true x", ts, x}, {"true y", ts, y}, {"learned x", ts, px}, {"learned y", ts, py}},
                        {.width = 480, .height = 360, .title = "trajectories", .x_label = "t"}),
        util::line_plot({{"true", x, y}, {"learned", px, py}},
                        {.width = 360, .height = 360, .title = "phase portrait (y against x)", .x_label = "x"}),
        util::trajectory_plot(paths.value<double>(), box, 360)};
    panels[2].fill_rect(0, 0, 359, 18, util::kWhite);  // a strip for the title
    panels[2].draw_text(8, 6, "learned flow, t from 0 to 0.1", util::kBlack);
    util::Image figure(480 + 360 + 360, 360);
    for (long x0 = 0; const util::Image& p : panels) {  // util draws one plot per Image: blit them
        for (std::size_t i = 0; i < p.width() * p.height(); ++i)
            figure.plot(x0 + long(i % p.width()), long(i / p.width()), p.pixel(i % p.width(), i / p.width()));
        x0 += long(p.width());
    }
    figure.save_png(path.string());  // atomic: a temporary file, then a rename
}

}  // namespace

int main(int argc, char** argv) {
    odenet::tune_heap_for_training();  // a training loop: keep freed memory for the next step
    Config c;
    CLI::App app{"ode_demo: learn the spiral dy/dt = y^3 A with a neural ODE (torchdiffeq's ode_demo.py)"};
    auto option = [&](const char* name, auto& value, const char* help, const CLI::Validator& check) {
        app.add_option(name, value, help)->check(check)->capture_default_str();
    };
    const auto positive = within(1, 1e9, "an integer in [1, 1e9]"), count = within(0, 1e9, "an integer in [0, 1e9]");
    option("--method", c.method, "Runge-Kutta method of the learned ODE (the data: dopri5)", {check_method, "NAME"});
    option("--data-size", c.data_size, "points of the true trajectory, t in [0, 25]", positive);
    option("--batch-time", c.batch_time, "points per training window", within(2, 1e9, "an integer in [2, 1e9]"));
    option("--batch-size", c.batch_size, "windows per iteration", positive);
    option("--niters", c.niters, "training iterations", positive);
    option("--test-freq", c.test_freq, "iterations between tests on the whole trajectory", positive);
    option("--viz-every", c.viz_every, "also write iter_NNNN.png at test iterations divisible by this", count);
    option("--lr", c.lr, "RMSprop learning rate", within(1e-300, 1e300, "a finite number > 0"));
    option("--seed", c.seed, "random seed (weights, windows)", within(0, 9e15, "an integer in [0, 9e15]"));
    option("--threads", c.threads, "odenet threads (tiny GEMMs: one is fastest)", within(1, 1024, "an integer in [1, 1024]"));
    option("--out", c.out, "output folder", CLI::Validator());
    app.add_flag("--adjoint", c.adjoint, "gradients by the adjoint method (default: backpropagate through the solver)");
    app.add_flag("--overwrite", c.overwrite, "write into a non-empty output folder");
    CLI11_PARSE(app, argc, argv);
    try {
        if (c.data_size - c.batch_time < c.batch_size)  // batch_size distinct starts in [0, data_size - batch_time)
            throw std::runtime_error("--data-size " + std::to_string(c.data_size) + " is too small: --batch-size " +
                std::to_string(c.batch_size) + " windows of --batch-time " + std::to_string(c.batch_time) +
                " need --data-size >= " + std::to_string(c.batch_size + c.batch_time));
        if (fs::exists(c.out) && !fs::is_empty(c.out) && !c.overwrite)
            throw std::runtime_error("output folder '" + c.out + "' exists and is not empty (--overwrite writes into it)");
        on::set_num_threads(int(c.threads));
        fs::create_directories(c.out);
        on::manual_seed(std::uint64_t(c.seed));
        on::Generator gen(std::uint64_t(c.seed) + 1);
        const Var A(on::Tensor<double>{{-0.1, 2.0}, {-2.0, -0.1}}), true_y0(on::Tensor<double>{{2.0, 0.0}});
        const Var t = on::linspace(0.0, 25.0, std::size_t(c.data_size));
        // The data: dopri5 at rtol 1e-7, atol 1e-9 whatever --method says. Nothing requires grad: nothing is recorded.
        const Var true_y = on::ode::odeint([&](const Var&, const Var& y) { return on::matmul(on::pow(y, 3.0), A); }, true_y0, t);
        const on::ode::OdeintOptions options{.solver = {.method = on::ode::method_from_name(c.method)},
                                             .grad = c.adjoint ? on::ode::Grad::adjoint : on::ode::Grad::direct};
        auto func = std::make_shared<on::nn::Sequential>(std::make_shared<Cube>(), std::make_shared<on::nn::Linear>(2, 50),
                                                         std::make_shared<on::nn::Tanh>(), std::make_shared<on::nn::Linear>(50, 2));
        for (auto& [name, p] : func->named_parameters())
            name.ends_with("weight") ? on::nn::init::normal_(p, 0.0, 0.1) : on::nn::init::zeros_(p);
        on::optim::RMSprop optimizer(func->parameters(), {.lr = c.lr});
        std::printf("ode_demo: %s, %s gradients, %ld iterations of %ld windows x %ld points, %zu parameters\n", c.method.c_str(),
                    c.adjoint ? "adjoint" : "direct", c.niters, c.batch_size, c.batch_time, func->parameter_count());
        std::fflush(stdout);  // before the bar (stderr) starts
        const fs::path dir(c.out);
        const Var batch_t = on::slice(t, 0, 0, std::size_t(c.batch_time));
        auto csv = std::make_unique<util::CsvLog>((dir / "training.csv.partial").string(), std::vector<std::string>{
            "iteration", "loss", "nfe_forward", "nfe_backward", "seconds", "test_loss"});
        util::ProgressBar bar(std::size_t(c.niters), "train");
        double nfe_f = 0, nfe_b = 0;
        const auto start = std::chrono::steady_clock::now();
        for (long it = 1; it <= c.niters; ++it) {
            // get_batch: batch_size distinct window starts s; batch_y[i] = true_y[s + i], (T, M, 1, 2).
            auto s = on::choice(std::size_t(c.data_size - c.batch_time), std::size_t(c.batch_size), false, gen);
            std::vector<Var> batch_y;
            for (long i = 0; i < c.batch_time; ++i) {
                batch_y.push_back(on::index_select(true_y, 0, s));
                for (std::size_t& k : s) ++k;
            }
            const auto pred = on::nn::odeint(func, batch_y[0], batch_t, options);
            Var loss = on::nn::functional::l1_loss(pred.ys, on::stack(batch_y));
            optimizer.zero_grad();
            on::backward(loss);
            optimizer.step();
            nfe_f += double(pred.forward.nfe), nfe_b += double(pred.backward().nfe);
            double test_loss = NAN;
            if (it % c.test_freq == 0) {
                on::NoGradGuard no_grad;
                const Var pred_y = on::nn::odeint(func, true_y0, t, options);
                test_loss = on::nn::functional::l1_loss(pred_y, true_y).item();
                char text[64];
                std::snprintf(text, sizeof text, "Iter %04ld | Total Loss %.6f", it, test_loss);
                bar.write(text);  // above the bar, not through it
                std::snprintf(text, sizeof text, "iter_%04ld.png", it);
                if (c.viz_every > 0 && it % c.viz_every == 0) write_figure(dir / text, t, true_y, pred_y, func, options);
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            csv->row({double(it), loss.item(), double(pred.forward.nfe), double(pred.backward().nfe), seconds, test_loss});
            bar.update(std::size_t(it), {{"loss", loss.item()}, {"nfe_f", pred.forward.nfe}, {"nfe_b", pred.backward().nfe}});
        }
        bar.finish();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        csv.reset();  // closed, then renamed: a reader never sees a half-written training.csv
        fs::rename(dir / "training.csv.partial", dir / "training.csv");
        on::NoGradGuard no_grad;
        const Var pred_y = on::nn::odeint(func, true_y0, t, options);
        std::printf("trained in %.1f s; NFE per iteration %.1f forward, %.1f backward; final test loss %.6f\n", seconds,
                    nfe_f / double(c.niters), nfe_b / double(c.niters), on::nn::functional::l1_loss(pred_y, true_y).item());
        write_figure(dir / "ode_demo.png", t, true_y, pred_y, func, options);
        std::printf("wrote %s/ode_demo.png and training.csv\n", c.out.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ode_demo: %s\n", e.what());
        return 1;
    }
    return 0;
}
