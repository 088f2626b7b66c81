#include "odenet/hamiltonian/models.hpp"

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::hamiltonian {

Mlp::Mlp(std::size_t in, std::size_t hidden, std::size_t out, Dtype dtype)
    : l1_(in, hidden, {.dtype = dtype}), l2_(hidden, hidden, {.dtype = dtype}), l3_(hidden, out, {.dtype = dtype}) {
    register_module("l1", l1_);
    register_module("l2", l2_);
    register_module("l3", l3_);
}

Var Mlp::forward(const Var& x) { return l3_(tanh(l2_(tanh(l1_(x))))); }

MlpDynamics::MlpDynamics(std::size_t hidden, Dtype dtype) : net_(2, hidden, 2, dtype) { register_module("net", net_); }

Var MlpDynamics::forward(const Var& /*t*/, const Var& y) { return net_(y); }

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::hnn: return "HNN";
        case Kind::separable: return "separable HNN";
        case Kind::mlp: return "MLP";
    }
    return "?";
}

std::shared_ptr<nn::TimeLayer> make_model(Kind k, std::size_t hidden, std::size_t separable_hidden, Dtype dtype) {
    switch (k) {
        case Kind::hnn: return std::make_shared<nn::Hamiltonian>(std::make_shared<Mlp>(2, hidden, 1, dtype));
        case Kind::separable:
            return std::make_shared<nn::SeparableHamiltonian>(std::make_shared<Mlp>(1, separable_hidden, 1, dtype),
                                                              std::make_shared<Mlp>(1, separable_hidden, 1, dtype));
        case Kind::mlp: return std::make_shared<MlpDynamics>(hidden, dtype);
    }
    throw ValueError("make_model", "unknown kind");
}

Var learned_energy(nn::TimeLayer& model, Kind k, const Var& y) {
    if (k == Kind::hnn) return dynamic_cast<nn::Hamiltonian&>(model).energy(y);
    if (k == Kind::separable) return dynamic_cast<nn::SeparableHamiltonian&>(model).energy(y);
    throw ValueError("learned_energy", "the MLP baseline has no energy");
}

}  // namespace odenet::hamiltonian
