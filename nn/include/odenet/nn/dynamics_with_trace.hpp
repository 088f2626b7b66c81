#pragma once
// Dynamics that know their own divergence. A CNF needs tr(∂f/∂z) at every evaluation; for a
// general network that costs one VJP per dimension (exact) or per probe (Hutchinson), but some
// families have it in closed form at the price of a few more elementwise ops: the planar CNF
// of Chen et al. (2018, section 4), whose trace is Σ_n uₙᵀ ∂hₙ/∂z (hyper_planar.hpp). A TimeLayer
// that derives from DynamicsWithTrace is used that way by the CNF (cnf.hpp): with the exact
// trace and no Jacobian regulariser, forward_with_trace replaces the VJPs. Dynamics whose
// divergence is identically zero derive from DivergenceFreeDynamics (divergence_free.hpp), which
// supplies a zero trace: the CNF then takes no VJPs at all and its Δlogp stays exactly 0.
#include "odenet/nn/module.hpp"

namespace odenet::nn {

struct FieldAndTrace {
    Var field;  ///< f(t, z): (N, d)
    Var trace;  ///< tr(∂f/∂z) per sample: (N, 1)
};

class DynamicsWithTrace : public TimeLayer {
public:
    /// f(t, z) and its exact divergence, both recorded as functions of z and the parameters when
    /// grad mode is on (the adjoint differentiates the trace). .field must equal forward(t, z),
    /// which stays the cheaper call for uses without the trace.
    virtual FieldAndTrace forward_with_trace(const Var& t, const Var& z) = 0;
};

}  // namespace odenet::nn
