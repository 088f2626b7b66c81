// The CNF's augmented right-hand side: f, the divergence tr(∂f/∂z) by VJPs, and the
// regularisers' integrands. See cnf.hpp for the equations.
#include <xtensor/xview.hpp>

#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"
#include "odenet/nn/cnf.hpp"
#include "odenet/nn/dynamics_with_trace.hpp"

namespace odenet::nn {

namespace {

// e_i as a batch of cotangents: (N, d) zeros with column i set to one, in z's dtype.
Var unit_column(const Var& z, std::size_t i) {
    return z.value().visit([&](const auto& v) {
        using T = typename std::decay_t<decltype(v)>::value_type;
        Tensor<T> e = xt::zeros<T>(v.shape());
        xt::view(e, xt::all(), i) = T(1);
        return Var(std::move(e));
    });
}

Var vjp_of(const Var& fz, const Var& z, const Var& v, bool create_graph) {
    // retain_graph: the same forward graph serves every probe / unit vector.
    return grad(fz, z, v, {.retain_graph = true, .create_graph = create_graph, .allow_unused = true});
}

Var row_sum(const Var& x) { return sum(x, {1}, /*keepdims=*/true); }

}  // namespace

Var divergence(const Var& fz, const Var& z, Trace trace, const std::vector<Var>& noise, bool create_graph,
               Var* frobenius) {
    if (z.dim() != 2) throw ShapeError("divergence", "z must be (N, d), got " + shape_str(z.shape()));
    const std::size_t n = z.shape()[0], d = z.shape()[1];
    if (!fz.requires_grad()) {  // f does not depend on z (nor on anything else)
        if (frobenius) *frobenius = zeros({n, 1}, z.dtype());
        return zeros({n, 1}, z.dtype());
    }
    std::vector<Var> terms, squares;
    if (trace == Trace::exact) {
        // tr J = Σ_i (e_iᵀ J)_i; ‖J‖_F² = Σ_i |e_iᵀ J|² (the rows of J, one VJP each).
        for (std::size_t i = 0; i < d; ++i) {
            Var g = vjp_of(fz, z, unit_column(z, i), create_graph);
            terms.push_back(slice(g, 1, i, i + 1));
            if (frobenius) squares.push_back(row_sum(g * g));
        }
    } else {
        // Hutchinson (1990): E[εᵀ J ε] = tr J for E[εεᵀ] = I; E|εᵀJ|² = ‖J‖_F² likewise.
        if (noise.empty()) throw ValueError("divergence", "the Hutchinson estimator needs at least one noise probe");
        for (const Var& eps : noise) {
            Var g = vjp_of(fz, z, eps, create_graph);
            terms.push_back(row_sum(g * eps));
            if (frobenius) squares.push_back(row_sum(g * g));
        }
    }
    auto total = [](const std::vector<Var>& xs) {
        Var s = xs[0];
        for (std::size_t i = 1; i < xs.size(); ++i) s = s + xs[i];
        return s;
    };
    const double scale = trace == Trace::exact ? 1.0 : 1.0 / double(noise.size());
    if (frobenius) *frobenius = scale == 1.0 ? total(squares) : total(squares) * scale;
    return scale == 1.0 ? total(terms) : total(terms) * scale;
}

// Note [Recording scope of the CNF dynamics]
// The solver calls these dynamics in three situations:
//  - adjoint / checkpointed forward, under NoGradGuard, with a plain state: the trace still
//    needs VJPs, so a nested recording scope differentiates f at a leaf copy of z, and only the
//    value leaves (nothing of it is kept);
//  - inside the adjoint's augmented dynamics (and the checkpointed re-solve, and direct mode),
//    under grad mode with a state that requires grad: z is sliced from it and used as is, and
//    the VJPs are recorded (create_graph), so that the caller's VJP of this output reaches the
//    state and the parameters through the trace as well: second-order terms;
//  - direct mode's first stage, under grad mode with a state that does not require grad: a
//    leaf copy again, but recorded, since the output depends on the parameters.
Var cnf_augmented_dynamics(TimeLayer& f, const Var& t, const Var& state, std::size_t dim, Trace trace,
                           const std::vector<Var>& noise, bool kinetic, bool jacobian) {
    const bool record = GradMode::enabled();
    Var fz, div, frob;
    if (auto* closed = dynamic_cast<DynamicsWithTrace*>(&f); closed && !jacobian) {
        // The trace from its formula: plain ops on z, recorded or not as the caller's mode says,
        // so no nested scope is needed. Exact, and cheaper than a single Hutchinson probe.
        auto [field, trace] = closed->forward_with_trace(t, slice(state, 1, 0, dim));
        fz = std::move(field);
        div = std::move(trace);
    } else {
        EnableGradGuard recording;
        Var z = slice(state, 1, 0, dim);
        if (!z.requires_grad()) z = Var(z.value(), true);
        fz = f(t, z);
        div = divergence(fz, z, trace, noise, record, jacobian ? &frob : nullptr);
    }
    if (!record) {  // a plain value: drop the nested graph
        fz = fz.detach();
        div = div.detach();
        if (jacobian) frob = frob.detach();
    }
    std::vector<Var> columns{fz, -div};
    if (kinetic) columns.push_back(row_sum(fz * fz));
    if (jacobian) columns.push_back(frob);
    return concat(columns, 1);
}

}  // namespace odenet::nn
