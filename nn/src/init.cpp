#include "odenet/nn/init.hpp"

#include <cmath>

#include "odenet/core/error.hpp"
#include "odenet/core/random.hpp"
#include "odenet/core/tensor.hpp"

namespace odenet::nn::init {

std::size_t fan_in(const Shape& s) {
    if (s.size() < 2) throw ValueError("init::fan_in", "needs a weight of rank >= 2, got " + shape_str(s));
    std::size_t n = s[1];
    for (std::size_t i = 2; i < s.size(); ++i) n *= s[i];
    return n;
}

void uniform_(Var& v, double lo, double hi) {
    if (v.dtype() == Dtype::float32) {
        v.mutable_value<float>() = uniform<float>(v.shape(), lo, hi);
    } else {
        v.mutable_value<double>() = uniform<double>(v.shape(), lo, hi);
    }
}

void constant_(Var& v, double value) {
    if (v.dtype() == Dtype::float32) {
        v.mutable_value<float>().fill(static_cast<float>(value));
    } else {
        v.mutable_value<double>().fill(value);
    }
}

void kaiming_uniform_(Var& v, double a) {
    const double gain = std::sqrt(2.0 / (1.0 + a * a));
    const double bound = gain * std::sqrt(3.0 / static_cast<double>(fan_in(v.shape())));
    uniform_(v, -bound, bound);
}

void default_linear_init(Var& weight, Var* bias) {
    kaiming_uniform_(weight, std::sqrt(5.0));
    if (bias && bias->defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in(weight.shape())));
        uniform_(*bias, -bound, bound);
    }
}

}  // namespace odenet::nn::init
