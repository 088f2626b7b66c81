#pragma once
// The three models the example trains on the same data the same way: a Hamiltonian neural
// network (an MLP H(q, p), Greydanus et al. 2019), its separable form (MLPs T(p) and V(q), for
// the symplectic integrators) and the baseline, an MLP that outputs [dq/dt, dp/dt] directly. All
// MLPs are in -> hidden -> hidden -> out with tanh, the paper's architecture.
#include <cstddef>
#include <memory>
#include <string>

#include "odenet/nn/hamiltonian.hpp"
#include "odenet/nn/linear.hpp"

namespace odenet::hamiltonian {

/// in -> hidden -> hidden -> out, tanh after both hidden layers.
class Mlp : public nn::Layer {
public:
    Mlp(std::size_t in, std::size_t hidden, std::size_t out, Dtype dtype = Dtype::float64);
    Var forward(const Var& x) override;

private:
    nn::Linear l1_, l2_, l3_;
};

/// The baseline: dy/dt = MLP(y) on rows (N, 2), 2 -> hidden -> hidden -> 2.
class MlpDynamics : public nn::TimeLayer {
public:
    MlpDynamics(std::size_t hidden, Dtype dtype = Dtype::float64);
    Var forward(const Var& t, const Var& y) override;

private:
    Mlp net_;
};

enum class Kind { hnn, separable, mlp };
const char* kind_name(Kind k);  ///< "HNN", "separable HNN", "MLP"

/// A model of one kind. HNN: H = Mlp(2, hidden, 1); separable: T = Mlp(1, separable_hidden, 1)
/// and V = Mlp(1, separable_hidden, 1); MLP: MlpDynamics(hidden).
std::shared_ptr<nn::TimeLayer> make_model(Kind k, std::size_t hidden, std::size_t separable_hidden, Dtype dtype = Dtype::float64);

/// The learned energy H(y) (N, 1) of a Hamiltonian kind. Throws ValueError for the MLP.
Var learned_energy(nn::TimeLayer& model, Kind k, const Var& y);

}  // namespace odenet::hamiltonian
