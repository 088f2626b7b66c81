#include "odenet/nn/odeint.hpp"

#include "odenet/core/error.hpp"
#include "odenet/nn/hamiltonian.hpp"

namespace odenet::nn {

ParameterList parameter_list(const Module& module) {
    ParameterList list;
    for (auto& [name, var] : module.named_parameters()) {
        list.vars.push_back(var);
        list.names.push_back(name);
    }
    return list;
}

// The lambdas hold the module by shared_ptr: every copy of the dynamics (the adjoint's and the
// checkpointed mode's graph nodes keep one) keeps the module alive.
ode::OdeintSolution odeint(std::shared_ptr<TimeLayer> f, const Var& y0, const Var& ts, const ode::OdeintOptions& options) {
    if (!f) throw ValueError("nn::odeint", "the dynamics module is null");
    check_symplectic_solve(*f, y0, options);
    const ParameterList params = parameter_list(*f);
    return ode::detail::odeint_named([f](const Var& t, const Var& y) { return f->forward(t, y); }, y0, ts,
                                     params.vars, params.names, options);
}

ode::OdeintSolution odeint(std::shared_ptr<Layer> f, const Var& y0, const Var& ts, const ode::OdeintOptions& options) {
    if (!f) throw ValueError("nn::odeint", "the dynamics module is null");
    const ParameterList params = parameter_list(*f);
    return ode::detail::odeint_named([f](const Var&, const Var& y) { return f->forward(y); }, y0, ts, params.vars,
                                     params.names, options);
}

namespace {

// One implementation for both kinds of module: the zeros, the shape checks and the dropping are
// nn/augment.hpp's, as ODEBlock's.
ode::OdeintSolution odeint_augmented(const ode::Dynamics& f, const Module& module, const Var& y0, const Var& ts,
                                     Augment augment, const ode::OdeintOptions& options) {
    const Var h0 = append_zeros(y0, augment.p, "nn::odeint");
    const ParameterList params = parameter_list(module);
    ode::OdeintSolution sol = ode::detail::odeint_named(shape_checked(f, y0.shape(), augment.p, "nn::odeint"), h0, ts,
                                                        params.vars, params.names, options);
    if (augment.p > 0 && augment.drop) sol.ys = drop_augmented(sol.ys, y0.shape()[1]);
    return sol;
}

}  // namespace

ode::OdeintSolution odeint(std::shared_ptr<TimeLayer> f, const Var& y0, const Var& ts, Augment augment,
                           const ode::OdeintOptions& options) {
    if (!f) throw ValueError("nn::odeint", "the dynamics module is null");
    check_symplectic_solve(*f, y0, options);
    return odeint_augmented([f](const Var& t, const Var& y) { return f->forward(t, y); }, *f, y0, ts, augment, options);
}

ode::OdeintSolution odeint(std::shared_ptr<Layer> f, const Var& y0, const Var& ts, Augment augment,
                           const ode::OdeintOptions& options) {
    if (!f) throw ValueError("nn::odeint", "the dynamics module is null");
    return odeint_augmented([f](const Var&, const Var& y) { return f->forward(y); }, *f, y0, ts, augment, options);
}

}  // namespace odenet::nn
