// Module: registration and names, recursion, modes, dtype conversion, Sequential.
#include <doctest/doctest.h>

#include "odenet/nn.hpp"

using namespace odenet;
namespace nn = odenet::nn;

namespace {
struct Block : nn::Module {
    nn::Linear fc{3, 4};
    nn::BatchNorm2d bn{2};
    Var scale = Var::scalar(2.0);
    Block() {
        register_parameter("scale", scale);
        register_module("fc", fc);
        register_module("bn", bn);
    }
};

struct Net : nn::Module {
    Block block;
    nn::Linear head{4, 1, {.bias = false}};
    Net() {
        register_module("block", block);
        register_module("head", head);
    }
};

template <class T>
std::vector<std::string> names(const T& named) {
    std::vector<std::string> out;
    for (const auto& [n, v] : named) out.push_back(n);
    return out;
}
}  // namespace

TEST_CASE("Module: parameters are named recursively in registration order") {
    Net net;
    CHECK(names(net.named_parameters()) ==
          std::vector<std::string>{"block.scale", "block.fc.weight", "block.fc.bias", "block.bn.weight", "block.bn.bias",
                                   "head.weight"});
    CHECK(names(net.named_buffers()) == std::vector<std::string>{"block.bn.running_mean", "block.bn.running_var"});
    CHECK(net.parameter_count() == 1 + 12 + 4 + 2 + 2 + 4);
    const auto params = net.parameters();
    REQUIRE(params.size() == 6);
    CHECK(params[1].same(net.block.fc.weight));  // handles, not copies
    for (const Var& p : params) CHECK(p.requires_grad());
    CHECK(net.children().size() == 2);
}

TEST_CASE("Module: invalid and duplicate names are rejected") {
    struct Bad : nn::Module {
        Var a = Var::scalar(1.0), b = Var::scalar(2.0);
        void add(const std::string& name, Var& v) { register_parameter(name, v); }
    } m;
    m.add("a", m.a);
    CHECK_THROWS_AS(m.add("a", m.b), ValueError);
    CHECK_THROWS_AS(m.add("x.y", m.b), ValueError);
    CHECK_THROWS_AS(m.add("", m.b), ValueError);
}

TEST_CASE("Module: train and eval reach every child") {
    Net net;
    CHECK(net.is_training());
    net.eval();
    CHECK_FALSE(net.is_training());
    CHECK_FALSE(net.block.bn.is_training());
    net.train();
    CHECK(net.block.bn.is_training());
}

TEST_CASE("Module: to(float32) converts parameters and buffers in place, keeping identity") {
    Net net;
    const Var w = net.block.fc.weight;  // a handle an optimizer would hold
    const double w00 = w.value<double>()(0, 0);
    optim::SGD opt(net.parameters(), {.lr = 0.1});
    net.to(Dtype::float32);
    CHECK(w.dtype() == Dtype::float32);
    CHECK(w.value<float>()(0, 0) == static_cast<float>(w00));
    CHECK(net.block.bn.running_var.dtype() == Dtype::float32);
    // The optimizer still updates the same Vars, now in float32.
    Var x(Tensor<float>(xt::ones<float>({5, 3})));
    backward(sum(net.head(net.block.fc(x))));
    opt.step();
    CHECK(w.value<float>()(0, 0) != static_cast<float>(w00));
    net.to(Dtype::float64);
    CHECK(net.head.weight.dtype() == Dtype::float64);
}

TEST_CASE("Module: zero_grad clears every gradient") {
    nn::Linear lin(2, 2);
    backward(sum(lin(ones({3, 2}))));
    CHECK(lin.weight.grad().defined());
    lin.zero_grad();
    CHECK_FALSE(lin.weight.grad().defined());
    CHECK_FALSE(lin.bias.grad().defined());
}

TEST_CASE("Sequential: children named 0, 1, ... and applied in order") {
    manual_seed(3);
    nn::Sequential seq(std::make_shared<nn::Linear>(2, 3), std::make_shared<nn::Tanh>());
    auto& out = seq.emplace_back<nn::Linear>(3, 1);
    CHECK(seq.size() == 3);
    CHECK(names(seq.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    const Var x = randn({4, 2});
    auto& first = static_cast<nn::Linear&>(seq[0]);
    const Var expected = out(tanh(first(x)));
    const Var y = seq(x);
    CHECK(xt::allclose(y.value<double>(), expected.value<double>()));
}
