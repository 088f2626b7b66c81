// nn::odeint's augmentation (Augmented Neural ODEs, Dupont, Doucet and Teh, 2019): the solve from
// [y0, 0], y0 with p zero features or channels appended along axis 1, for TimeLayer and Layer
// dynamics; the same helper as ODEBlock's .augment (nn/augment.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "odenet/autodiff.hpp"
#include "odenet/nn.hpp"
#include "nn/augment_dynamics.hpp"

using namespace odenet;

namespace {

// The output times. A function, not a static Var: LeakSanitizer reported a static Var's buffer
// as leaked at exit.
Var output_times() { return Var(Tensor<double>{0.0, 0.3, 0.7}); }

using Dense = test::AugmentDense;
using Conv = test::AugmentConv;

// Autonomous dense dynamics (a Layer): the other overload.
std::shared_ptr<nn::Sequential> autonomous(std::size_t width) {
    return std::make_shared<nn::Sequential>(std::make_shared<nn::Linear>(width, 10), std::make_shared<nn::Tanh>(),
                                            std::make_shared<nn::Linear>(10, width));
}

// Records the first state it sees (the state at t0) and returns zeros.
struct Recorder : nn::TimeLayer {
    Var first;
    Var forward(const Var&, const Var& h) override {
        if (!first.defined()) first = h.detach();
        return zeros_like(h);
    }
};

// The reference: direct backprop through the plain-callable ode::odeint from a hand-built
// [x, 0], the p features sliced off by hand when dropping.
Var reference(const ode::Dynamics& f, const Var& x, std::size_t p, bool drop, const ode::OdeintOptions& options) {
    Shape zshape = x.shape();
    zshape[1] = p;
    ode::OdeintOptions direct = options;
    direct.grad = ode::Grad::direct;
    const Var ys = ode::odeint(f, concat({x, zeros(zshape, x.dtype())}, 1), output_times(), {}, direct).ys;
    return drop ? slice(ys, 2, 0, x.shape()[1]) : ys;
}

// A loss that weighs every output differently, so that no gradient entry can cancel.
Var loss_of(const Var& ys) {
    Generator gen(5);
    return sum(ys * Var(randn<double>(ys.shape(), gen)));
}

std::vector<Var> grads_of(const nn::Module& m, const Var& x) {
    std::vector<Var> g{x.grad()};
    for (const Var& q : m.parameters()) g.push_back(q.grad());
    return g;
}

// Every mode's states and gradients (x and every parameter) against the reference. The solves
// run dopri5 at rtol = atol = 1e-10, so the adjoint's gradient (exact-solution gradient) and the
// discrete ones differ by far less than the 1e-6 relative plus 1e-9 absolute checked here, while
// a missing or misplaced slice of the gradient (the zeros' share, a dropped column) is O(1).
template <class Module>
void check_against_reference(const std::shared_ptr<Module>& f, const ode::Dynamics& call, Var x, std::size_t p, bool drop) {
    const ode::OdeintOptions solver{.solver = {.rtol = 1e-10, .atol = 1e-10}};
    f->zero_grad();
    x.zero_grad();
    const Var ref = reference(call, x, p, drop, solver);
    backward(loss_of(ref));
    const std::vector<Var> want = grads_of(*f, x);

    for (ode::Grad mode : {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed}) {
        const std::string mode_name = ode::grad_name(mode);
        CAPTURE(mode_name);
        ode::OdeintOptions options = solver;
        options.grad = mode;
        f->zero_grad();
        x.zero_grad();
        const Var ys = nn::odeint(f, x, output_times(), nn::Augment{.p = p, .drop = drop}, options).ys;
        REQUIRE(ys.shape() == ref.shape());
        for (std::size_t k = 0; k < ys.numel(); ++k)
            CHECK(ys.value<double>().data()[k] == doctest::Approx(ref.value<double>().data()[k]).epsilon(1e-8));
        backward(loss_of(ys));
        const std::vector<Var> got = grads_of(*f, x);
        REQUIRE(got.size() == want.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i);
            const auto& a = want[i].value<double>();
            const auto& b = got[i].value<double>();
            REQUIRE(a.shape() == b.shape());
            for (std::size_t k = 0; k < a.size(); ++k)
                CHECK(std::abs(b.data()[k] - a.data()[k]) <= 1e-9 + 1e-6 * std::abs(a.data()[k]));
        }
    }
}

template <class F>
std::string error_of(F&& call) {
    try {
        call();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST_CASE("nn::odeint Augment: the p extra features and channels are zero at t0") {
    manual_seed(21);
    SUBCASE("dense: seen by the dynamics at t0 and returned as ys[0]") {
        auto rec = std::make_shared<Recorder>();
        const Var x(randn<double>({4, 3}));
        const Var ys = nn::odeint(rec, x, output_times(), nn::Augment{.p = 2}).ys;
        REQUIRE(rec->first.shape() == Shape{4, 5});
        REQUIRE(ys.shape() == Shape{3, 4, 5});
        const auto& h = rec->first.value<double>();
        const auto& y = ys.value<double>();
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t j = 0; j < 5; ++j) {
                const double want = j < 3 ? x.value<double>()(b, j) : 0.0;
                CHECK(h(b, j) == want);
                CHECK(y(0, b, j) == want);
            }
    }
    SUBCASE("convolutional: extra channels at every pixel") {
        auto rec = std::make_shared<Recorder>();
        const Var x(randn<double>({2, 2, 3, 3}));
        const Var ys = nn::odeint(rec, x, output_times(), nn::Augment{.p = 3}).ys;
        REQUIRE(ys.shape() == Shape{3, 2, 5, 3, 3});
        const auto& y = ys.value<double>();
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t c = 0; c < 5; ++c)
                for (std::size_t i = 0; i < 3; ++i)
                    for (std::size_t j = 0; j < 3; ++j)
                        CHECK(y(0, b, c, i, j) == (c < 2 ? x.value<double>()(b, c, i, j) : 0.0));
    }
}

TEST_CASE("nn::odeint Augment: shapes, dense and convolutional, TimeLayer and Layer, kept and dropped") {
    manual_seed(22);
    const Var xd(randn<double>({4, 3}));
    CHECK(nn::odeint(std::make_shared<Dense>(5), xd, output_times(), nn::Augment{.p = 2}).ys.shape() == Shape{3, 4, 5});
    CHECK(nn::odeint(std::make_shared<Dense>(5), xd, output_times(), nn::Augment{.p = 2, .drop = true}).ys.shape() == Shape{3, 4, 3});
    CHECK(nn::odeint(autonomous(4), xd, output_times(), nn::Augment{.p = 1}).ys.shape() == Shape{3, 4, 4});
    CHECK(nn::odeint(autonomous(4), xd, output_times(), nn::Augment{.p = 1, .drop = true}).ys.shape() == Shape{3, 4, 3});
    const Var xc(randn<double>({2, 3, 4, 4}));
    CHECK(nn::odeint(std::make_shared<Conv>(4), xc, output_times(), nn::Augment{.p = 1}).ys.shape() == Shape{3, 2, 4, 4, 4});
    CHECK(nn::odeint(std::make_shared<Conv>(4), xc, output_times(), nn::Augment{.p = 1, .drop = true}).ys.shape() ==
          Shape{3, 2, 3, 4, 4});
    SUBCASE("p = 0 is the plain solve, dropping or not") {
        auto f = std::make_shared<Dense>(3);
        const ode::OdeintOptions o{.grad = ode::Grad::direct};
        const Var plain = nn::odeint(f, xd, output_times(), o).ys;
        const Var none = nn::odeint(f, xd, output_times(), nn::Augment{.p = 0, .drop = true}, o).ys;
        REQUIRE(none.shape() == plain.shape());
        for (std::size_t k = 0; k < plain.numel(); ++k) CHECK(none.value<double>().data()[k] == plain.value<double>().data()[k]);
    }
}

TEST_CASE("nn::odeint Augment: direct, adjoint and checkpointed gradients match direct backprop from [x, 0]") {
    manual_seed(23);
    SUBCASE("TimeLayer, dense, p = 2, kept") {
        auto f = std::make_shared<Dense>(5);
        check_against_reference(f, [f](const Var& t, const Var& y) { return f->forward(t, y); },
                                Var(randn<double>({4, 3}), true), 2, false);
    }
    SUBCASE("TimeLayer, dense, p = 2, dropped") {
        auto f = std::make_shared<Dense>(5);
        check_against_reference(f, [f](const Var& t, const Var& y) { return f->forward(t, y); },
                                Var(randn<double>({4, 3}), true), 2, true);
    }
    SUBCASE("Layer (autonomous), dense, p = 1, dropped") {
        auto f = autonomous(3);
        f->to(Dtype::float64);
        check_against_reference(f, [f](const Var&, const Var& y) { return f->forward(y); }, Var(randn<double>({5, 2}), true),
                                1, true);
    }
    SUBCASE("TimeLayer, convolutional, p = 2 channels, kept") {
        auto f = std::make_shared<Conv>(4);
        check_against_reference(f, [f](const Var& t, const Var& y) { return f->forward(t, y); },
                                Var(randn<double>({2, 2, 3, 3}), true), 2, false);
    }
}

TEST_CASE("nn::odeint Augment and ODEBlock .augment give the same states (one implementation)") {
    manual_seed(24);
    auto f = std::make_shared<Dense>(5);
    const Var x(randn<double>({3, 3}));
    nn::ODEBlock block(f, {.t1 = 0.7, .augment = 2, .drop_augmented = true});
    const Var from_block = block.trajectory(x, output_times());
    const Var from_odeint = nn::odeint(f, x, output_times(), nn::Augment{.p = 2, .drop = true}).ys;
    REQUIRE(from_block.shape() == from_odeint.shape());
    for (std::size_t k = 0; k < from_block.numel(); ++k)
        CHECK(from_block.value<double>().data()[k] == from_odeint.value<double>().data()[k]);
}

TEST_CASE("nn::odeint Augment runs in float32") {
    manual_seed(25);
    auto f = std::make_shared<Dense>(4);
    f->to(Dtype::float32);
    const Var x(randn<float>({3, 2}), true);
    const Var ys = nn::odeint(f, x, output_times(), nn::Augment{.p = 2, .drop = true}, {.solver = {.rtol = 1e-5, .atol = 1e-5}}).ys;
    CHECK(ys.dtype() == Dtype::float32);
    REQUIRE(ys.shape() == Shape{3, 3, 2});
    backward(sum(ys * ys));
    REQUIRE(x.grad().dtype() == Dtype::float32);
    for (float g : x.grad().value<float>()) CHECK(std::isfinite(g));
}

TEST_CASE("nn::odeint Augment: bad p, a state without axis 1 and unwidened dynamics are refused, naming nn::odeint") {
    manual_seed(26);
    const Var x(randn<double>({4, 3}));
    SUBCASE("a negative count converted to size_t is a ValueError") {
        const int p = -1;
        CHECK_THROWS_AS(nn::odeint(std::make_shared<Recorder>(), x, output_times(), nn::Augment{.p = static_cast<std::size_t>(p)}),
                        ValueError);
        CHECK(error_of([&] { nn::odeint(autonomous(3), x, output_times(), nn::Augment{.p = static_cast<std::size_t>(p)}); }) ==
              "nn::odeint: augment = 18446744073709551615 is a count of zero features; this looks like a negative value "
              "converted");
    }
    SUBCASE("a rank-1 state has no axis 1: ShapeError") {
        CHECK_THROWS_AS(nn::odeint(std::make_shared<Recorder>(), Var(randn<double>({3})), output_times(), nn::Augment{.p = 1}),
                        ShapeError);
        CHECK(error_of([&] { nn::odeint(std::make_shared<Recorder>(), Var(randn<double>({3})), output_times(), nn::Augment{.p = 1}); }) ==
              "nn::odeint: augment = 1 appends along axis 1 and needs a state (batch, features) or (batch, channels, H, W), "
              "got shape (3)");
    }
    SUBCASE("dynamics still d wide: ShapeError naming p and y0's shape") {
        const std::string msg = error_of([&] { nn::odeint(std::make_shared<Dense>(3), x, output_times(), nn::Augment{.p = 2}); });
        INFO(msg);
        CHECK(msg.starts_with("nn::odeint: the dynamics failed on the state of shape (4, 5) (x of shape (4, 3) augmented by "
                              "p = 2 zeros along axis 1: the dynamics must take and return 5 features or channels there): "));
    }
    SUBCASE("a null module") {
        CHECK_THROWS_AS(nn::odeint(std::shared_ptr<nn::TimeLayer>(), x, output_times(), nn::Augment{.p = 1}), ValueError);
    }
}
