#pragma once
// Which trainable leaves a recorded result depends on. The adjoint modes of odeint use it to
// find parameters the dynamics use but the caller did not list: their gradients would otherwise
// be lost without a word (see Note [Parameters the dynamics reach] in ode/src/odeint_checks.cpp).
#include <vector>

#include "odenet/autodiff/var.hpp"

namespace odenet {

/// A leaf requiring grad, found in a graph: its identity (compare with Var::impl()) and shape.
struct LeafRef {
    const VarImpl* impl = nullptr;
    Shape shape;
};

/// The leaves requiring grad that `outputs` were computed from, each once, in the order an
/// iterative depth-first search meets them. Leaves destroyed since recording are left out.
/// The search does not go past the Vars in `stops` (e.g. the non-leaf parameters odeint is given,
/// such as a CDE path's coefficients computed from data: what they depend on is reached through
/// them, by the chain rule, not by the dynamics directly).
std::vector<LeafRef> graph_leaves(const std::vector<Var>& outputs, const std::vector<Var>& stops = {});

}  // namespace odenet
