#pragma once
// A small time-dependent dynamics module shared by the nn tests that solve with it.
#include "odenet/nn.hpp"

namespace odenet::test {

// f(t, y) = W2 tanh(W1 y + t c) + b: four parameters; each row of a batch evolves on its own.
struct TimeMlp : nn::TimeLayer {
    nn::Linear l1{2, 6}, l2{6, 2};
    Var c;
    TimeMlp() {
        register_module("l1", l1);
        register_module("l2", l2);
        c = Var(randn<double>({6}));
        register_parameter("c", c);
    }
    Var forward(const Var& t, const Var& y) override { return l2(tanh(l1(y) + t * c)); }
};

}  // namespace odenet::test
