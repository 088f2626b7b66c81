// The module-aware odeint (nn::odeint) and the traps it closes: a parameter missing from the
// list, a module destroyed while its graph is alive, NaN reports that name the user's objects,
// and create_graph through the adjoint.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "odenet/autodiff.hpp"
#include "odenet/nn.hpp"
#include "nn/time_mlp.hpp"

using namespace odenet;

namespace {

using Mlp = odenet::test::TimeMlp;

const ode::Grad kModes[] = {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed};

ode::OdeintOptions options(ode::Grad grad, double tol = 1e-12) {
    return {.solver = {.method = ode::Method::dopri5, .rtol = tol, .atol = tol}, .grad = grad};
}

// The output times. A function, not a static Var: LeakSanitizer reported a static Var's buffer
// as leaked at exit.
Var output_times() { return Var(Tensor<double>{0.0, 0.4, 1.0}); }

Var loss_of(const Var& ys) {
    Generator gen(7);
    return sum(ys * Var(randn<double>(ys.shape(), gen)));
}

double max_rel_diff(const Tensor<double>& a, const Tensor<double>& b) {
    double scale = 0, diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::abs(b.data()[i]));
        diff = std::max(diff, std::abs(a.data()[i] - b.data()[i]));
    }
    return diff / scale;
}

// The gradients of y0 and every parameter after one backward through `solve`.
std::vector<Tensor<double>> gradients(const std::shared_ptr<Mlp>& f, Var y0,
                                      const std::function<Var()>& solve) {
    f->zero_grad();
    y0.zero_grad();
    backward(loss_of(solve()));
    std::vector<Tensor<double>> g{y0.grad().value<double>()};
    for (const Var& p : f->parameters()) g.push_back(p.grad().value<double>());
    return g;
}

}  // namespace

TEST_CASE("nn::odeint collects the module's parameters: every mode matches direct backprop in float64") {
    manual_seed(1);
    auto f = std::make_shared<Mlp>();
    Var y0(randn<double>({3, 2}), true);
    // The reference: the plain-callable overload in direct mode, parameters on the tape.
    const auto reference = gradients(f, y0, [&] {
        return ode::odeint([&](const Var& t, const Var& y) { return f->forward(t, y); }, y0, output_times(), {},
                           options(ode::Grad::direct));
    });
    for (ode::Grad mode : kModes) {
        CAPTURE(ode::grad_name(mode));
        const auto g = gradients(f, y0, [&] { return nn::odeint(f, y0, output_times(), options(mode)).ys; });
        REQUIRE(g.size() == reference.size());
        // Both sides solve at rtol = atol = 1e-12; the continuous adjoint's gradient differs from
        // the discrete one by the solver's error, about 1e-12 relative here; 1e-10 leaves room.
        for (std::size_t i = 0; i < g.size(); ++i) CHECK(max_rel_diff(g[i], reference[i]) < 1e-10);
    }
}

TEST_CASE("a trainable Var the dynamics use but params omit is an error, not a zero gradient") {
    manual_seed(2);
    auto f = std::make_shared<Mlp>();
    auto rhs = [&](const Var& t, const Var& y) { return f->forward(t, y); };
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        CAPTURE(ode::grad_name(mode));
        SUBCASE("y0 requires grad: the first backward throws") {
            Var y0(randn<double>({3, 2}), true);
            Var ys = ode::odeint(rhs, y0, output_times(), {}, options(mode, 1e-6));
            CHECK_THROWS_WITH_AS(backward(loss_of(ys)),
                                 doctest::Contains("the dynamics use 5 trainable tensors not in params (shapes"),
                                 GraphError);
        }
        SUBCASE("nothing requires grad: the forward throws (no backward would ever run)") {
            CHECK_THROWS_WITH_AS(ode::odeint(rhs, Var(randn<double>({3, 2})), output_times(), {}, options(mode, 1e-6)),
                                 doctest::Contains("nn::odeint(module, y0, ts)"), GraphError);
        }
        SUBCASE("a partial list names what is missing") {
            Var y0(randn<double>({3, 2}), true);
            std::vector<Var> some = f->parameters();
            some.erase(some.begin());  // c, of shape (6): a module's own parameters come first
            Var ys = ode::odeint(rhs, y0, output_times(), some, options(mode, 1e-6));
            CHECK_THROWS_WITH_AS(backward(loss_of(ys)), doctest::Contains("1 trainable tensor not in params (shape (6))"),
                                 GraphError);
        }
    }
    SUBCASE("direct mode records f on the tape and needs no list") {
        Var y0(randn<double>({3, 2}), true);
        backward(loss_of(ode::odeint(rhs, y0, output_times(), {}, options(ode::Grad::direct, 1e-6))));
        for (const Var& p : f->parameters()) CHECK(p.grad().defined());
    }
}

TEST_CASE("a module destroyed while its graph is alive: backward still works (the graph shares ownership)") {
    for (ode::Grad mode : kModes) {
        CAPTURE(ode::grad_name(mode));
        manual_seed(3);
        auto f = std::make_shared<Mlp>();
        Var y0(randn<double>({3, 2}), true);
        const auto kept = gradients(f, y0, [&] { return nn::odeint(f, y0, output_times(), options(mode, 1e-8)).ys; });
        std::vector<Var> params = f->parameters();  // handles; the module itself goes away below
        for (Var& p : params) p.zero_grad();
        y0.zero_grad();
        Var loss = loss_of(nn::odeint(f, y0, output_times(), options(mode, 1e-8)));
        f.reset();
        backward(loss);
        for (std::size_t i = 0; i < params.size(); ++i) {
            REQUIRE(params[i].grad().defined());
            CHECK(max_rel_diff(params[i].grad().value<double>(), kept[i + 1]) == 0.0);
        }
    }
    SUBCASE("the same through an ODEBlock") {
        manual_seed(4);
        Var x(randn<double>({3, 2}), true);
        Var loss;
        std::vector<Var> params;
        {
            auto block = std::make_shared<nn::ODEBlock>(std::make_shared<Mlp>(), nn::ODEBlockOptions{.odeint = options(ode::Grad::adjoint, 1e-6)});
            params = block->parameters();
            loss = sum(square((*block)(x)));
        }
        backward(loss);
        for (const Var& p : params) CHECK(p.grad().defined());
        CHECK(x.grad().defined());
    }
}

TEST_CASE("autonomous dynamics: a Layer (Sequential) as f(y)") {
    manual_seed(5);
    auto f = std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                                              std::make_shared<nn::Linear>(8, 2));
    Var y0(randn<double>({4, 2}), true);
    const ode::OdeintSolution sol = nn::odeint(f, y0, output_times(), options(ode::Grad::adjoint, 1e-7));
    CHECK(sol.ys.shape() == Shape{3, 4, 2});
    CHECK(sol.forward.nfe > 0);
    CHECK(sol.backward().nfe == 0);  // nothing ran backwards yet
    backward(sum(sol.ys));
    CHECK(sol.backward().nfe > 0);
    for (const Var& p : f->parameters()) CHECK(p.grad().defined());
    CHECK_THROWS_WITH_AS(nn::odeint(std::shared_ptr<nn::Layer>(), y0, output_times()), doctest::Contains("null"), ValueError);
}

TEST_CASE("a NaN arriving from the loss is named with the phase and the output time, in every mode") {
    manual_seed(6);
    auto f = std::make_shared<Mlp>();
    for (ode::Grad mode : kModes) {
        CAPTURE(ode::grad_name(mode));
        Var y0(randn<double>({3, 2}), true);
        Tensor<double> target = xt::zeros<double>({3, 3, 2});
        target(2, 1, 0) = std::numeric_limits<double>::quiet_NaN();
        Var loss = mean(square(nn::odeint(f, y0, output_times(), options(mode, 1e-6)).ys - Var(target)));
        const std::string expected = std::string("odeint (") + ode::grad_name(mode) +
                                     ", backward): dL/dy(t) arriving from the loss at output time ts[2] = 1";
        CHECK_THROWS_WITH_AS(backward(loss), doctest::Contains(expected.c_str()), ValueError);
    }
}

TEST_CASE("a NaN parameter is named in the forward solve's error, by its name in the module") {
    manual_seed(7);
    auto f = std::make_shared<Mlp>();
    f->l2.weight.mutable_value<double>()(1, 3) = std::numeric_limits<double>::quiet_NaN();
    for (ode::Grad mode : kModes) {
        CAPTURE(ode::grad_name(mode));
        CHECK_THROWS_WITH_AS(nn::odeint(f, Var(randn<double>({3, 2})), output_times(), options(mode, 1e-6)),
                             doctest::Contains("the dynamics' parameter 'l2.weight' holds nan at flat index 9 of shape (2, 6)"),
                             SolverError);
    }
}

namespace {
// dy/dt = −0.5 sqrt(y² + δ) with δ = 0 for the entry that starts at 0: the value stays finite
// (f = 0 there, so y stays 0) but d sqrt/dx = 1/(2 sqrt x) is infinite at 0, so the adjoint is NaN.
struct SqrtDecay : nn::TimeLayer {
    Var scale;
    SqrtDecay() {
        scale = Var::scalar(0.5);
        register_parameter("scale", scale);
    }
    Var forward(const Var&, const Var& y) override { return -(scale * sqrt(square(y))); }
};
}  // namespace

TEST_CASE("a NaN produced inside f: forward names f, backward names the adjoint part, anomaly mode names the op") {
    SUBCASE("forward: log of a negative state") {
        auto rhs = [](const Var&, const Var& y) { return log(y); };
        CHECK_THROWS_WITH_AS(ode::odeint(rhs, Var(Tensor<double>{-1.0, 2.0}), output_times(), {}, options(ode::Grad::adjoint, 1e-6)),
                             doctest::Contains("so f produced it"), SolverError);
        DetectAnomalyGuard anomaly;
        CHECK_THROWS_WITH_AS(ode::odeint(rhs, Var(Tensor<double>{-1.0, 2.0}), output_times(), {}, options(ode::Grad::adjoint, 1e-6)),
                             doctest::Contains("the forward of 'log' produced nan"), GraphError);
    }
    SUBCASE("backward: d sqrt at 0 in the adjoint") {
        auto f = std::make_shared<SqrtDecay>();
        const Var y0(Tensor<double>{0.0, 1.0}, true);
        CHECK_THROWS_WITH_AS(backward(sum(nn::odeint(f, y0, output_times(), options(ode::Grad::adjoint, 1e-6)).ys)),
                             doctest::Contains("odeint (adjoint, backward solve between t = 1 and t = 0.4)"), SolverError);
        CHECK_THROWS_WITH_AS(backward(sum(nn::odeint(f, y0, output_times(), options(ode::Grad::checkpointed, 1e-6)).ys)),
                             doctest::Contains("became non-finite"), Error);
        // Direct mode: the tape carries the NaN into the gradients; the optimizer refuses them.
        optim::SGD sgd(f->parameters(), {.lr = 0.1});
        backward(sum(nn::odeint(f, y0, output_times(), options(ode::Grad::direct, 1e-6)).ys));
        CHECK_THROWS_WITH_AS(sgd.step(), doctest::Contains("the gradient of parameter 0 (shape ()) holds nan"), ValueError);
        CHECK(f->scale.item() == 0.5);  // the refused step changed nothing
        DetectAnomalyGuard anomaly;
        f->zero_grad();
        CHECK_THROWS_WITH_AS(backward(sum(nn::odeint(f, y0, output_times(), options(ode::Grad::direct, 1e-6)).ys)),
                             doctest::Contains("the backward of 'sqrt' produced"), GraphError);
    }
}

TEST_CASE("create_graph through the adjoint and checkpointed modes is a GraphError, not a silent constant") {
    manual_seed(8);
    auto f = std::make_shared<Mlp>();
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        CAPTURE(ode::grad_name(mode));
        Var y0(randn<double>({3, 2}), true);
        Var loss = loss_of(nn::odeint(f, y0, output_times(), options(mode, 1e-6)));
        CHECK_THROWS_WITH_AS(grad(loss, y0, Var(), {.create_graph = true}),
                             doctest::Contains("create_graph through this mode is not supported"), GraphError);
    }
    Var y0(randn<double>({3, 2}), true);
    Var g = grad(loss_of(nn::odeint(f, y0, output_times(), options(ode::Grad::direct, 1e-6))), y0, Var(), {.create_graph = true});
    CHECK(g.requires_grad());  // direct mode differentiates again
}

TEST_CASE("a parameter changed in place between the forward and the backward of an adjoint solve is an error") {
    manual_seed(9);
    auto f = std::make_shared<Mlp>();
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        CAPTURE(ode::grad_name(mode));
        Var y0(randn<double>({3, 2}), true);
        Var loss = loss_of(nn::odeint(f, y0, output_times(), options(mode, 1e-6)));
        f->l1.weight.mutable_value<double>()(0, 0) += 1.0;  // e.g. an optimizer step in between
        CHECK_THROWS_WITH_AS(backward(loss),
                             doctest::Contains("the dynamics' parameter 'l1.weight' (shape (6, 2)) was modified in place"),
                             GraphError);
    }
}
