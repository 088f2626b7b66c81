#pragma once
// The planar CNF of Chen, Rubanova, Bettencourt & Duvenaud (2018), "Neural Ordinary Differential
// Equations", section 4.1: M planar units side by side in continuous time,
//     dz/dt = Σₙ σₙ(t) uₙ(t) tanh(wₙ(t)ᵀ z + bₙ(t)),                    n = 1 .. M,
// whose parameters are functions of t produced by a hypernetwork (the paper's answer to "the
// weights should have their own dynamics"), each unit with a gate σₙ(t) ∈ (0, 1) that learns when
// it acts. Its divergence is a sum over units and needs no VJP (the paper's eq. 10):
//     tr(∂f/∂z) = Σₙ σₙ(t) (uₙᵀ wₙ) (1 − tanh²(wₙᵀ z + bₙ)).
// The hypernetwork maps t through two tanh layers of `hidden` units to the M (2d + 2) numbers
// (wₙ, uₙ, gate logit, bₙ); the paper specifies the gated form but not the hypernetwork's size,
// which is ours. A continuous flow needs no invertibility constraint on uₙ (unlike a planar
// layer, planar_flow.hpp): an ODE's flow map is invertible for any Lipschitz f.
#include <cstddef>

#include "odenet/nn/dynamics_with_trace.hpp"
#include "odenet/nn/linear.hpp"

namespace odenet::nn {

struct HyperPlanarOptions {
    std::size_t width = 32;   ///< M, the count of planar units
    std::size_t hidden = 32;  ///< units in each of the hypernetwork's two tanh layers
    Dtype dtype = Dtype::float64;
};

/// The units' parameters at one time t: w, u (M, d); gate σ(t) and b (1, M).
struct PlanarUnits {
    Var w, u, gate, b;
};

class HyperPlanar : public DynamicsWithTrace {
public:
    /// Dynamics on states (N, dim). ValueError for dim, width or hidden of 0.
    HyperPlanar(std::size_t dim, HyperPlanarOptions options = {});

    /// f(t, z) for z (N, dim); ShapeError naming HyperPlanar for another shape.
    Var forward(const Var& t, const Var& z) override;
    /// f and its closed-form trace (N, 1).
    FieldAndTrace forward_with_trace(const Var& t, const Var& z) override;
    /// The hypernetwork's output at t, split into the units' parameters (gate after the sigmoid).
    PlanarUnits units(const Var& t);

    std::size_t dim() const { return dim_; }
    std::size_t width() const { return options_.width; }

    Linear time_in, time_hidden, time_out;  ///< 1 -> hidden -> hidden -> width (2 dim + 2)

private:
    Var activations(const PlanarUnits& p, const Var& z) const;  // tanh(z wᵀ + b): (N, M)

    std::size_t dim_;
    HyperPlanarOptions options_;
};

}  // namespace odenet::nn
