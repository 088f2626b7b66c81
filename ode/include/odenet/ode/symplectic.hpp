#pragma once
// Symplectic splitting methods for separable Hamiltonian systems H(q, p) = T(p) + V(q):
// leapfrog (Stoermer-Verlet, order 2) and Yoshida's fourth-order composition of it.
//
// Note [Symplectic methods in the solver API]
// They are two more Methods, run by the ordinary solve(f, y0, ts, {.method = Method::leapfrog,
// .step_size = h}) with the whole vector field f(t, y), rather than a separate
// solve_separable(dq, dp, ...) taking the two halves as functions. Why:
//   - one f for every method: a user switches between dopri5 and leapfrog by one option, and
//     compares them on the same f (the tests and the benchmark do);
//   - the differentiable odeint (whose dynamics are one Var -> Var module) can reach them later
//     with no new interface;
//   - NFE keeps its one meaning, evaluations of f.
// The price: f computes both halves where a step needs one. The state is split in halves of its
// flattened elements, q = y[0 .. n/2), p = y[n/2 .. n) (n even, else ValueError), and a step
// evaluates f(t, (q, p)) and reads only the half it needs: the q half (dq/dt = dH/dp) for a
// drift, the p half (dp/dt = -dH/dq) for a kick. This is valid exactly when H is separable:
// dq/dt must not depend on q nor dp/dt on p. (For a non-separable H the method silently
// becomes a different, non-symplectic scheme; nothing can check that from f's outputs alone.)
//
// One step of size h is a kick-drift-kick sequence
//   p += kick[0] h F_p(q);  then for i = 0 .. m-1:  q += drift[i] h F_q(p);  p += kick[i+1] h F_p(q)
// (F_q, F_p the two halves of f). The kick at the end of a step and the kick at the start of the
// next read F_p at the same q, so that evaluation is shared: 2m evaluations of f per step
// (leapfrog 2, yoshida4 6), plus one at the start of the solve. A full f evaluation serves each
// half-step because a partitioned method cannot ask f for one half; see the benchmark
// (bench/bench_symplectic.cpp) for what that costs against dopri5.
//
// Time: the argument t passed to f is the time the q half has reached. H must not depend on t
// for the methods to be symplectic; for time-dependent f they are still consistent, of order 1
// to 2 only.
//
// Fixed step only: no error estimate and no dense output. Options::step_size > 0 is required
// (else ValueError naming the method). Each interval [ts[i], ts[i+1]] is split into
// ceil(|ts[i+1] - ts[i]| / step_size) steps of size step_size, the last one cut to land on
// ts[i+1] exactly. Options used: step_size, max_steps (steps in all), save_steps,
// step_callback; rtol, atol, controller, norm, first_step, min/max_step do not apply.
//
// States: any contiguous state (Tensor<float>, Tensor<double>, std::vector, std::array), the
// arithmetic in the state's element type; and Var (odeint's Grad::direct), whose StateOps
// records each half-step as a masked linear combination (odeint/var_state.hpp). The adjoint and
// checkpointed modes refuse these methods (odeint.hpp says why).
#include <string>
#include <vector>

#include "odenet/ode/tableau.hpp"

namespace odenet::ode {

/// The coefficients of one step, in units of h (see Note [Symplectic methods in the solver API]).
struct SplittingScheme {
    std::string name{};
    int order = 0;
    std::vector<double> kick{};   ///< m + 1 kick fractions; kick[0] and kick[m] read F_p at shared q
    std::vector<double> drift{};  ///< m drift fractions
};

/// The scheme of leapfrog or yoshida4. Throws ValueError for a Runge-Kutta method.
const SplittingScheme& splitting(Method method);

/// Throws ValueError naming the scheme unless kick has one entry more than drift, drift is not
/// empty, and each of sum(kick), sum(drift) is 1 (consistency) to 1e-14.
void validate(const SplittingScheme& scheme);

}  // namespace odenet::ode
