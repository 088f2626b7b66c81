// The coefficients of the symplectic splitting methods (symplectic.hpp), as data.
#include <cmath>
#include <numeric>
#include <string>

#include "odenet/core/error.hpp"
#include "odenet/ode/symplectic.hpp"

namespace odenet::ode {

namespace {

// Stoermer-Verlet in kick-drift-kick form (the velocity Verlet of Swope et al., 1982); Hairer,
// Lubich & Wanner, "Geometric Numerical Integration" (2nd ed., 2006), Sec. I.3.1, eq. (3.4).
SplittingScheme make_leapfrog() { return {"leapfrog", 2, {0.5, 0.5}, {1.0}}; }

// Yoshida (1990), "Construction of higher order symplectic integrators", Phys. Lett. A
// 150(5-7):262-268, eqs. (5.4)-(5.6): the symmetric triple jump S(w1 h) S(w0 h) S(w1 h) of the
// second-order leapfrog S with w1 = 1 / (2 - 2^(1/3)), w0 = -2^(1/3) w1 (so 2 w1 + w0 = 1 and
// 2 w1^3 + w0^3 = 0, which cancels the h^3 error term). Adjacent half kicks merge:
// kicks w1/2, (w1 + w0)/2, (w0 + w1)/2, w1/2 around drifts w1, w0, w1.
SplittingScheme make_yoshida4() {
    const double cbrt2 = std::cbrt(2.0);
    const double w1 = 1.0 / (2.0 - cbrt2);
    const double w0 = -cbrt2 * w1;
    return {"yoshida4", 4, {w1 / 2, (w1 + w0) / 2, (w0 + w1) / 2, w1 / 2}, {w1, w0, w1}};
}

}  // namespace

void validate(const SplittingScheme& s) {
    const auto fail = [&](const std::string& what) { throw ValueError("validate(" + s.name + ")", what); };
    if (s.drift.empty()) fail("no drifts");
    if (s.kick.size() != s.drift.size() + 1)
        fail("needs one kick more than drifts (" + std::to_string(s.kick.size()) + " kicks, " +
             std::to_string(s.drift.size()) + " drifts)");
    // Consistency (order >= 1): over one step q and p each advance by h times their derivative.
    // Coefficients like w1 = 1.3512 sum with cancellation; 1e-14 is ~50 ulp of their magnitude.
    if (std::abs(std::accumulate(s.kick.begin(), s.kick.end(), 0.0) - 1.0) > 1e-14) fail("kicks do not sum to 1");
    if (std::abs(std::accumulate(s.drift.begin(), s.drift.end(), 0.0) - 1.0) > 1e-14) fail("drifts do not sum to 1");
}

const SplittingScheme& splitting(Method method) {
    // Built once (function-local statics are thread-safe), validated on construction.
    static const SplittingScheme leapfrog = [] { auto s = make_leapfrog(); validate(s); return s; }();
    static const SplittingScheme yoshida4 = [] { auto s = make_yoshida4(); validate(s); return s; }();
    switch (method) {
        case Method::leapfrog: return leapfrog;
        case Method::yoshida4: return yoshida4;
        default:
            throw ValueError("splitting", std::string(method_name(method)) +
                                              " is a Runge-Kutta method, not a symplectic splitting method");
    }
}

}  // namespace odenet::ode
