// An installed-package consumer: what a user's own program does with odenet and its util
// component, from headers and libraries found by find_package alone. It
//   1. solves y' = -y over plain tensors (ode::solve) and checks y(1) = e^-1;
//   2. trains a small nn module as ODE dynamics for one RMSprop step through the module-aware
//      nn::odeint (adjoint) and checks that the loss went down;
//   3. writes a CSV log and a PNG plot of the two losses with util, and reads the PNG back.
// Prints one line per check and "install_consumer: OK" last; any failure exits non-zero.
//   consumer OUT_DIR
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "odenet/odenet.hpp"
#include "odenet/util.hpp"

namespace on = odenet;

namespace {

// f(t, y) = W2 tanh(W1 y + b1) + b2: a module, as dynamics are in a neural ODE.
struct Dynamics : on::nn::TimeLayer {
    on::nn::Linear l1{2, 8}, l2{8, 2};
    Dynamics() {
        register_module("l1", l1);
        register_module("l2", l2);
    }
    on::Var forward(const on::Var& /*t*/, const on::Var& y) override { return l2(on::tanh(l1(y))); }
};

int fail(const std::string& what) {
    std::fprintf(stderr, "install_consumer: FAILED: %s\n", what.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if (argc != 2) return fail("usage: consumer OUT_DIR");
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    on::manual_seed(0);

    // 1. Plain solve. rtol = atol = 1e-10 makes dopri5's global error about 1e-10; 1e-8 leaves
    //    room without letting a wrong solver through (a wrong stage is off by far more).
    const auto decay = [](double /*t*/, const on::Tensor<double>& y) -> on::Tensor<double> { return -y; };
    const auto sol = on::ode::solve(decay, on::Tensor<double>{1.0}, {0.0, 1.0},
                                    {.method = on::ode::Method::dopri5, .rtol = 1e-10, .atol = 1e-10});
    const double y1 = sol.ys[1](0), exact = std::exp(-1.0);
    std::printf("solve: y(1) = %.10f, exact %.10f, nfe %zu\n", y1, exact, sol.stats.nfe);
    if (!(std::abs(y1 - exact) < 1e-8)) return fail("ode::solve: y(1) differs from e^-1");

    // 2. One RMSprop step on the parameters of a module solved by odeint, gradients by the
    //    adjoint. lr = 1e-3 is small enough that the first-order decrease dominates.
    auto f = std::make_shared<Dynamics>();
    const on::Var y0(on::Tensor<double>{{1.0, 0.0}, {0.0, 1.0}, {-1.0, 0.5}});
    const on::Var target(on::Tensor<double>{{{0.5, 0.0}, {0.0, 0.5}, {-0.5, 0.25}}});  // (1, 3, 2): y(1) ≈ y0/2
    const on::Var ts(on::Tensor<double>{0.0, 1.0});
    const on::ode::OdeintOptions opts{.solver = {.rtol = 1e-6, .atol = 1e-6}, .grad = on::ode::Grad::adjoint};
    const auto loss_of = [&] {
        const on::Var ys = on::nn::odeint(f, y0, ts, opts);  // (2, 3, 2)
        return on::nn::functional::mse_loss(on::slice(ys, 0, 1, 2), target);
    };
    on::optim::RMSprop opt(f->parameters(), {.lr = 1e-3});
    const on::Var loss = loss_of();
    opt.zero_grad();
    on::backward(loss);
    opt.step();
    const double before = loss.item(), after = loss_of().item();
    std::printf("odeint: loss %.8f -> %.8f after one RMSprop step\n", before, after);
    if (!(after < before)) return fail("nn::odeint + optim::RMSprop: the loss did not decrease");

    // 3. util: a CSV log and a PNG plot, read back.
    const std::string csv = (out / "losses.csv").string(), png = (out / "losses.png").string();
    {
        on::util::CsvLog log(csv, {"step", "loss"});
        log.row({0, before});
        log.row({1, after});
    }
    on::util::line_plot({{"loss", {0, 1}, {before, after}}}, {.width = 160, .height = 120, .title = "loss"})
        .save_png(png);
    const on::util::Image back = on::util::read_png(png);
    std::printf("util: wrote %s and %s (%zux%zu)\n", csv.c_str(), png.c_str(), back.width(), back.height());
    if (back.width() != 160 || back.height() != 120) return fail("util: the PNG read back has another size");

    std::printf("install_consumer: OK\n");
    return 0;
} catch (const std::exception& e) {
    return fail(e.what());
}
