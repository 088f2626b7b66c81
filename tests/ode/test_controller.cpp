#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "odenet/ode/controller.hpp"
#include "odenet/ode/norms.hpp"

using namespace odenet::ode;

TEST_CASE("PI controller: accept, grow, shrink, clamp") {
    PIController c;
    // err = 0: the factor saturates at max_factor.
    auto d = c.propose(0.1, 0.0, 4);
    CHECK(d.accept);
    CHECK(d.h_next == doctest::Approx(1.0));
    c.reset();
    // err = 1 on the first step (err_{n-1} = 1): the factor is exactly the safety factor.
    d = c.propose(0.1, 1.0, 4);
    CHECK(d.accept);
    CHECK(d.h_next == doctest::Approx(0.09));
    // A rejection shrinks by safety * err^(-1/k), at most by min_factor, never grows.
    d = c.propose(0.1, 32.0, 4);
    CHECK_FALSE(d.accept);
    CHECK(d.h_next == doctest::Approx(0.1 * 0.9 * std::pow(32.0, -0.2)));
    d = c.propose(0.1, 1e12, 4);
    CHECK(d.h_next == doctest::Approx(0.02));
    // Right after a rejection an accepted step does not grow h (Hairer's DOPRI5).
    d = c.propose(0.1, 1e-6, 4);
    CHECK(d.accept);
    CHECK(d.h_next == doctest::Approx(0.1));
    // Backwards in time: the sign is kept.
    d = c.propose(-0.1, 0.5, 4);
    CHECK(d.h_next < 0.0);
}

TEST_CASE("PI controller: the integral term damps growth after a large error") {
    PIController a, b;
    a.propose(0.1, 0.9, 4);   // previous error large
    b.propose(0.1, 0.01, 4);  // previous error small
    CHECK(a.propose(0.1, 0.5, 4).h_next > b.propose(0.1, 0.5, 4).h_next);
}

TEST_CASE("PI controller: NaN rejects with min_factor") {
    PIController c;
    const auto d = c.propose(0.5, std::numeric_limits<double>::quiet_NaN(), 4);
    CHECK_FALSE(d.accept);
    CHECK(d.h_next == doctest::Approx(0.1));
}

TEST_CASE("norms: rms, max and the seminorm") {
    const double e[] = {3.0, 4.0, 0.0, 0.0};
    CHECK(rms_norm(e) == doctest::Approx(2.5));
    CHECK(max_norm(e) == 4.0);
    CHECK(rms_seminorm(0, 2)(e) == doctest::Approx(std::sqrt(12.5)));
    CHECK(rms_seminorm(2, 4)(e) == 0.0);
}
