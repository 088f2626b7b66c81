#pragma once
// odeint with a module as the dynamics, as torchdiffeq's odeint(func, y0, t): the module's
// parameters are collected here, so none can be forgotten, and the returned graph shares the
// module's ownership, so backward works even after the caller's pointer is gone.
//
//   auto f = std::make_shared<MyDynamics>();        // a TimeLayer: forward(t, y)
//   Var ys = nn::odeint(f, y0, ts);                 // adjoint by default (odeint/odeint.hpp)
//   Var ys = nn::odeint(f, y0, ts, {.solver = {.rtol = 1e-5, .atol = 1e-5}, .grad = ode::Grad::direct});
//   Var ys = nn::odeint(f, x, ts, nn::Augment{.p = 2});   // from [x, 0]: Augmented Neural ODEs
#include <memory>

#include "odenet/nn/augment.hpp"
#include "odenet/nn/module.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

/// Solves dy/dt = f(t, y) from y0 at ts[0]; returns the states at every time of ts (see
/// ode::odeint for shapes, modes and errors). Every parameter of `f` is differentiated in every
/// mode. Throws ValueError for a null module.
ode::OdeintSolution odeint(std::shared_ptr<TimeLayer> f, const Var& y0, const Var& ts,
                           const ode::OdeintOptions& options = {});

/// The same for autonomous dynamics dy/dt = f(y), a Layer (e.g. a Sequential).
ode::OdeintSolution odeint(std::shared_ptr<Layer> f, const Var& y0, const Var& ts,
                           const ode::OdeintOptions& options = {});

/// The solve from [y0, 0]: y0 (batch, d) or (batch, C, H, W) with `augment.p` zero features or
/// channels appended along axis 1 (nn/augment.hpp; Dupont, Doucet and Teh, 2019), so f must take
/// and return d + p of them. Returns ys (len(ts), batch, d + p, ...), or with `augment.drop`
/// (len(ts), batch, d, ...); p = 0 is the plain solve. The zeros are constants: gradients reach y0
/// and the parameters in every mode. Besides the errors above: ValueError for a p that is a
/// negative value converted, ShapeError for a y0 of dim < 2 when p > 0 and, naming p and y0's
/// shape, for dynamics that do not take or return the augmented state's shape.
ode::OdeintSolution odeint(std::shared_ptr<TimeLayer> f, const Var& y0, const Var& ts, Augment augment,
                           const ode::OdeintOptions& options = {});
ode::OdeintSolution odeint(std::shared_ptr<Layer> f, const Var& y0, const Var& ts, Augment augment,
                           const ode::OdeintOptions& options = {});

/// The module's parameters and their dotted names, as odeint passes them to ode::odeint.
struct ParameterList {
    std::vector<Var> vars;
    std::vector<std::string> names;
};
ParameterList parameter_list(const Module& module);

}  // namespace odenet::nn
