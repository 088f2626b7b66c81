// ODEBlock's augmentation (Augmented Neural ODEs, Dupont, Doucet and Teh, 2019): p zero features
// or channels appended along axis 1 before the solve, optionally dropped after.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "odenet/autodiff.hpp"
#include "odenet/nn/concat_layers.hpp"
#include "odenet/nn/ode_block.hpp"
#include "odenet/nn/odeint.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "nn/augment_dynamics.hpp"

using namespace odenet;

namespace {

using Dense = test::AugmentDense;
using Conv = test::AugmentConv;

// Records the first state it is called with (the state at t0) and returns zeros.
struct Recorder : nn::TimeLayer {
    Var first;
    Var forward(const Var&, const Var& h) override {
        if (!first.defined()) first = h.detach();
        return zeros_like(h);
    }
};

// Returns the first `keep` features only: a dynamics of the wrong output shape.
struct Narrow : nn::TimeLayer {
    std::size_t keep;
    explicit Narrow(std::size_t k) : keep(k) {}
    Var forward(const Var&, const Var& h) override { return slice(h, 1, 0, keep); }
};

std::string shape_error_of(nn::ODEBlock& block, const Var& x) {
    try {
        block(x);
    } catch (const ShapeError& e) {
        return e.what();
    }
    return "no ShapeError";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The reference the block must reproduce: direct backprop through nn::odeint from a hand-built
// [x, 0], with the p features sliced off by hand when dropping.
Var reference(const std::shared_ptr<nn::TimeLayer>& f, const Var& x, std::size_t p, bool drop,
              const ode::OdeintOptions& options) {
    Shape zshape = x.shape();
    zshape[1] = p;
    const Var h0 = concat({x, zeros(zshape, x.dtype())}, 1);
    ode::OdeintOptions direct = options;
    direct.grad = ode::Grad::direct;
    Var ys = nn::odeint(f, h0, Var(Tensor<double>{0.0, 0.7}), direct).ys;
    Shape shape = h0.shape();
    Var h1 = reshape(index_select(ys, 0, {1}), shape);
    return drop ? slice(h1, 1, 0, x.shape()[1]) : h1;
}

std::vector<Var> grads_of(nn::Module& m, const Var& x) {
    std::vector<Var> g{x.grad()};
    for (const Var& q : m.parameters()) g.push_back(q.grad());
    return g;
}

// Tolerances: the solves run dopri5 at rtol = atol = 1e-10; the adjoint's and the checkpointed
// mode's gradients then agree with direct backprop to far better than the 1e-6 relative
// (plus 1e-9 absolute) checked here.
void check_modes_match_reference(const std::shared_ptr<nn::TimeLayer>& f, Var x, std::size_t p, bool drop) {
    const ode::OdeintOptions solver{.solver = {.rtol = 1e-10, .atol = 1e-10}};
    nn::ODEBlock block(f, {.t1 = 0.7, .augment = p, .drop_augmented = drop, .odeint = solver});

    block.zero_grad();
    x.zero_grad();
    const Var ref = reference(f, x, p, drop, solver);
    backward(sum(ref * ref));
    const std::vector<Var> want = grads_of(block, x);

    for (ode::Grad mode : {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed}) {
        const std::string mode_name = ode::grad_name(mode);
        CAPTURE(mode_name);
        block.options.odeint.grad = mode;
        block.zero_grad();
        x.zero_grad();
        const Var y = block(x);
        REQUIRE(y.shape() == ref.shape());
        for (std::size_t k = 0; k < y.numel(); ++k)
            CHECK(y.value<double>().data()[k] == doctest::Approx(ref.value<double>().data()[k]).epsilon(1e-8));
        backward(sum(y * y));
        const std::vector<Var> got = grads_of(block, x);
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

}  // namespace

TEST_CASE("ODEBlock augment: the p extra features and channels start at zero") {
    manual_seed(11);
    SUBCASE("dense, seen by the dynamics at t0 and by trajectory at ts[0]") {
        auto rec = std::make_shared<Recorder>();
        nn::ODEBlock block(rec, {.augment = 2});
        const Var x(randn<double>({4, 3}));
        const Var ys = block.trajectory(x, Var(Tensor<double>{0.0, 1.0}));
        REQUIRE(rec->first.shape() == Shape{4, 5});
        const auto& h = rec->first.value<double>();
        const auto& y0 = ys.value<double>();  // (2, 4, 5); zero dynamics, so ys[1] == ys[0]
        for (std::size_t b = 0; b < 4; ++b)
            for (std::size_t j = 0; j < 5; ++j) {
                const double want = j < 3 ? x.value<double>()(b, j) : 0.0;
                CHECK(h(b, j) == want);
                CHECK(y0(0, b, j) == want);
                CHECK(y0(1, b, j) == want);
            }
    }
    SUBCASE("convolutional: extra channels, every pixel") {
        auto rec = std::make_shared<Recorder>();
        nn::ODEBlock block(rec, {.augment = 3});
        const Var x(randn<double>({2, 2, 3, 3}));
        const Var y = block(x);
        REQUIRE(y.shape() == Shape{2, 5, 3, 3});
        const auto& v = y.value<double>();
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t c = 0; c < 5; ++c)
                for (std::size_t i = 0; i < 3; ++i)
                    for (std::size_t j = 0; j < 3; ++j)
                        CHECK(v(b, c, i, j) == (c < 2 ? x.value<double>()(b, c, i, j) : 0.0));
    }
}

TEST_CASE("ODEBlock augment: output shapes, dense and convolutional, kept and dropped") {
    manual_seed(12);
    const Var xd(randn<double>({4, 3}));
    auto fd = std::make_shared<Dense>(5);
    fd->to(Dtype::float64);
    nn::ODEBlock dense(fd, {.augment = 2});
    CHECK(dense(xd).shape() == Shape{4, 5});
    CHECK(dense.trajectory(xd, Var(Tensor<double>{0.0, 0.5, 1.0})).shape() == Shape{3, 4, 5});
    dense.options.drop_augmented = true;
    CHECK(dense(xd).shape() == Shape{4, 3});
    CHECK(dense.trajectory(xd, Var(Tensor<double>{0.0, 0.5, 1.0})).shape() == Shape{3, 4, 3});

    const Var xc(randn<double>({2, 3, 5, 5}));
    auto fc = std::make_shared<Conv>(4);
    nn::ODEBlock conv(fc, {.augment = 1});
    CHECK(conv(xc).shape() == Shape{2, 4, 5, 5});
    conv.options.drop_augmented = true;
    CHECK(conv(xc).shape() == Shape{2, 3, 5, 5});

    SUBCASE("p = 0 is the plain block, drop_augmented or not") {
        auto f = std::make_shared<Dense>(3);
        nn::ODEBlock plain(f, {.drop_augmented = true});
        CHECK(plain(xd).shape() == xd.shape());
    }
}

TEST_CASE("ODEBlock augment: direct, adjoint and checkpointed gradients match direct backprop from [x, 0]") {
    manual_seed(13);
    SUBCASE("dense, p = 2, kept") {
        auto f = std::make_shared<Dense>(5);
        check_modes_match_reference(f, Var(randn<double>({4, 3}), true), 2, false);
    }
    SUBCASE("dense, p = 2, dropped") {
        auto f = std::make_shared<Dense>(5);
        check_modes_match_reference(f, Var(randn<double>({4, 3}), true), 2, true);
    }
    SUBCASE("convolutional, p = 2 channels, dropped") {
        auto f = std::make_shared<Conv>(4);
        check_modes_match_reference(f, Var(randn<double>({2, 2, 4, 4}), true), 2, true);
    }
}

TEST_CASE("ODEBlock augment passes gradcheck of the input gradient (direct mode, float64)") {
    // Fixed rk4 steps make the block smooth in x (see test_ode_block.cpp).
    manual_seed(14);
    auto f = std::make_shared<Dense>(5);
    for (bool drop : {false, true}) {
        CAPTURE(drop);
        nn::ODEBlock block(f, {.t1 = 0.5,
                               .augment = 2,
                               .drop_augmented = drop,
                               .odeint = {.solver = {.method = ode::Method::rk4, .step_size = 0.05},
                                          .grad = ode::Grad::direct}});
        const auto result = testing::gradcheck([&](const std::vector<Var>& in) { return block(in[0]); },
                                               {Var(randn<double>({2, 3}))});
        INFO(result.message);
        CHECK(result.ok);
    }
}

TEST_CASE("ODEBlock augment runs in float32, close to float64") {
    manual_seed(15);
    auto f = std::make_shared<Dense>(5);
    const Tensor<double> x64 = randn<double>({4, 3});
    nn::ODEBlock block(f, {.augment = 2, .drop_augmented = true, .odeint = {.grad = ode::Grad::adjoint}});
    const Var y64 = block(Var(x64));
    f->to(Dtype::float32);
    const Var x32(Tensor<float>(xt::cast<float>(x64)), true);
    const Var y32 = block(x32);
    CHECK(y32.dtype() == Dtype::float32);
    REQUIRE(y32.shape() == Shape{4, 3});
    for (std::size_t k = 0; k < y32.numel(); ++k)
        CHECK(y32.value<float>().data()[k] == doctest::Approx(y64.value<double>().data()[k]).epsilon(1e-3));
    backward(sum(y32 * y32));
    REQUIRE(x32.grad().dtype() == Dtype::float32);
    for (float g : x32.grad().value<float>()) CHECK(std::isfinite(g));
}

TEST_CASE("ODEBlock augment: a dynamics not widened to d + p is a ShapeError naming ODEBlock, p and the state") {
    manual_seed(16);
    const Var x(randn<double>({4, 3}));
    SUBCASE("dynamics whose input is still d wide (a layer's ShapeError, wrapped)") {
        nn::ODEBlock block(std::make_shared<Dense>(3), {.augment = 2});
        const std::string msg = shape_error_of(block, x);
        INFO(msg);
        CHECK(contains(msg, "ODEBlock: the dynamics failed on the state of shape (4, 5) (x of shape (4, 3) "
                            "augmented by p = 2 zeros along axis 1: the dynamics must take and return 5 "
                            "features or channels there): "));
        CHECK(contains(msg, "ConcatLinear: expects (N, 3), got (4, 5)"));
    }
    SUBCASE("dynamics returning d features") {
        nn::ODEBlock block(std::make_shared<Narrow>(3), {.augment = 2});
        const std::string msg = shape_error_of(block, x);
        CHECK(msg == "ODEBlock: the dynamics returned shape (4, 3) for a state of shape (4, 5) (x of shape (4, 3) "
                     "augmented by p = 2 zeros along axis 1: the dynamics must take and return 5 features or "
                     "channels there)");
    }
    SUBCASE("p = 0: the same check, without the augmentation note") {
        nn::ODEBlock block(std::make_shared<Narrow>(2));
        CHECK(shape_error_of(block, x) == "ODEBlock: the dynamics returned shape (4, 2) for a state of shape (4, 3)");
    }
    SUBCASE("a rank-1 state has no axis 1") {
        nn::ODEBlock block(std::make_shared<Recorder>(), {.augment = 1});
        CHECK(shape_error_of(block, Var(randn<double>({3}))) ==
              "ODEBlock: augment = 1 appends along axis 1 and needs a state (batch, features) or "
              "(batch, channels, H, W), got shape (3)");
    }
    SUBCASE("a negative count assigned after construction wraps, and is rejected") {
        nn::ODEBlock block(std::make_shared<Recorder>());
        const int p = -1;
        block.options.augment = static_cast<std::size_t>(p);
        CHECK_THROWS_AS(block(x), ValueError);
    }
}
