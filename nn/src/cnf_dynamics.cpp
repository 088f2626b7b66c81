// FFJORD's toy dynamics: a stack of ConcatSquashLinear layers (see cnf.hpp).
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/enum_names.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/cnf.hpp"

namespace odenet::nn {

namespace {
constexpr EnumNames kActivationNames{
    std::array{std::pair{Activation::tanh, "tanh"}, std::pair{Activation::softplus, "softplus"}}};
}  // namespace

const char* activation_name(Activation a) { return kActivationNames.name(a); }
Activation activation_from_name(const std::string& name) {
    return kActivationNames.parse(name, "activation_from_name", "activation");
}

ConcatSquashMLP::ConcatSquashMLP(std::size_t dim, const std::vector<std::size_t>& hidden, Activation activation,
                                 Dtype dtype, std::size_t out_features)
    : activation_(activation) {
    if (dim == 0) throw ValueError("ConcatSquashMLP", "dim must be > 0");
    std::size_t in = dim;
    for (std::size_t i = 0; i <= hidden.size(); ++i) {
        const std::size_t out = i < hidden.size() ? hidden[i] : (out_features > 0 ? out_features : dim);
        if (out == 0) throw ValueError("ConcatSquashMLP", "hidden sizes must be > 0");
        layers_.push_back(std::make_shared<ConcatSquashLinear>(in, out, LinearOptions{.dtype = dtype}));
        register_module(std::to_string(i), layers_.back());
        in = out;
    }
}

Var ConcatSquashMLP::forward(const Var& t, const Var& z) {
    Var h = z;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        h = (*layers_[i])(t, h);
        if (i + 1 < layers_.size()) h = activation_ == Activation::tanh ? tanh(h) : softplus(h);
    }
    return h;
}

std::shared_ptr<TimeLayer> make_toy_dynamics(std::size_t dim, const std::vector<std::size_t>& hidden,
                                             Activation activation, Dtype dtype) {
    return std::make_shared<ConcatSquashMLP>(dim, hidden, activation, dtype);
}

}  // namespace odenet::nn
