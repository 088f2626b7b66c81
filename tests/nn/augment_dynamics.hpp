#pragma once
// Dynamics of the augmentation tests (ODEBlock's .augment and nn::odeint's Augment): a dense and
// a convolutional TimeLayer whose width is the augmented state's, d + p features or C + p channels.
#include <cstddef>

#include "odenet/nn/concat_layers.hpp"

namespace odenet::test {

// Dense time-dependent dynamics on `width` features.
struct AugmentDense : nn::TimeLayer {
    nn::ConcatLinear l1, l2;
    explicit AugmentDense(std::size_t width) : l1(width, 16), l2(16, width) {
        register_module("l1", l1);
        register_module("l2", l2);
    }
    Var forward(const Var& t, const Var& x) override { return l2(t, tanh(l1(t, x))); }
};

// Convolutional dynamics on `channels` channels, same spatial size.
struct AugmentConv : nn::TimeLayer {
    nn::ConcatConv2d c1, c2;
    explicit AugmentConv(std::size_t channels) : c1(channels, 4, 3, {.padding = 1}), c2(4, channels, 3, {.padding = 1}) {
        register_module("c1", c1);
        register_module("c2", c2);
    }
    Var forward(const Var& t, const Var& x) override { return c2(t, tanh(c1(t, x))); }
};

}  // namespace odenet::test
