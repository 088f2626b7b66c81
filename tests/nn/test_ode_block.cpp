// ODEBlock: a layer over odeint; its gradient modes agree and it reports NFE.
#include <doctest/doctest.h>

#include "odenet/autodiff.hpp"
#include "odenet/nn/concat_layers.hpp"
#include "odenet/nn/ode_block.hpp"
#include "odenet/testing/gradcheck.hpp"

using namespace odenet;

namespace {
struct Dynamics : nn::TimeLayer {
    nn::ConcatLinear l1{3, 16}, l2{16, 3};
    Dynamics() {
        register_module("l1", l1);
        register_module("l2", l2);
    }
    Var forward(const Var& t, const Var& x) override { return l2(t, tanh(l1(t, x))); }
};
}  // namespace

TEST_CASE("ODEBlock: output shape, NFE, and the three gradient modes agree") {
    manual_seed(3);
    auto f = std::make_shared<Dynamics>();
    f->to(Dtype::float64);
    nn::ODEBlock block(f, {.t1 = 0.8, .odeint = {.solver = {.rtol = 1e-9, .atol = 1e-9}}});
    CHECK(block.parameter_count() == f->parameter_count());
    CHECK(block.named_parameters()[0].first == "dynamics.l1.layer.weight");
    Var x(randn<double>({4, 3}), true);
    std::vector<std::vector<Var>> grads;
    for (ode::Grad mode : {ode::Grad::direct, ode::Grad::adjoint, ode::Grad::checkpointed}) {
        block.options.odeint.grad = mode;
        block.zero_grad();
        x.zero_grad();
        Var y = block(x);
        CHECK(y.shape() == x.shape());
        CHECK(block.last_nfe() > 0);
        backward(sum(y * y));
        if (mode != ode::Grad::direct) CHECK(block.last_backward_nfe() > 0);
        std::vector<Var> g{x.grad()};
        for (const Var& p : block.parameters()) g.push_back(p.grad());
        grads.push_back(g);
    }
    for (std::size_t m = 1; m < grads.size(); ++m)
        for (std::size_t i = 0; i < grads[0].size(); ++i) {
            const auto& a = grads[0][i].value<double>();
            const auto& b = grads[m][i].value<double>();
            for (std::size_t k = 0; k < a.size(); ++k) CHECK(b.data()[k] == doctest::Approx(a.data()[k]).epsilon(1e-6));
        }
}

TEST_CASE("ODEBlock passes gradcheck through the solver (direct mode), input and every parameter") {
    // Fixed rk4 steps make the block a smooth function of x and of the weights (an adaptive step
    // size would jump with them); the checked inputs replace the module's parameters for each
    // evaluation, as torch.autograd.gradcheck does with functional_call.
    manual_seed(4);
    auto f = std::make_shared<Dynamics>();
    f->to(Dtype::float64);
    nn::ODEBlock block(f, {.t1 = 0.5,
                           .odeint = {.solver = {.method = ode::Method::rk4, .step_size = 0.05}, .grad = ode::Grad::direct}});
    std::vector<Var*> params = {&f->l1.layer.weight, &f->l1.layer.bias, &f->l2.layer.weight, &f->l2.layer.bias};
    REQUIRE(params.size() == block.parameters().size());
    auto fn = [&](const std::vector<Var>& in) {
        for (std::size_t i = 0; i < params.size(); ++i) *params[i] = in[i + 1];
        return block(in[0]);
    };
    std::vector<Var> inputs = {Var(randn<double>({2, 3}))};
    for (Var* p : params) inputs.push_back(p->detach());
    const auto result = testing::gradcheck(fn, inputs);
    INFO(result.message);
    CHECK(result.ok);
}
