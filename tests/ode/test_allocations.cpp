// The fast path allocates nothing per step: the number of heap allocations of a solve does not
// grow with the number of steps (stage buffers are made once; f works in place).
#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

#include "odenet/ode/solve.hpp"
#include "problems.hpp"

namespace {
std::size_t g_allocations = 0;
}  // namespace

// Counting replacements of the global allocation functions (for this test binary only).
void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace odenet::ode;
using namespace odenet::ode::testing;

namespace {
template <class S>
std::pair<std::size_t, std::size_t> allocations_and_steps(double t_end) {
    const S y0{1.0, 1.0, 1.0};
    const std::size_t before = g_allocations;
    const auto sol = solve(Lorenz{}, y0, {0.0, t_end}, {.rtol = 1e-8, .atol = 1e-8});
    return {g_allocations - before, sol.stats.accepted};
}
}  // namespace

TEST_CASE_TEMPLATE("no heap allocation per step on the fast path", S, std::array<double, 3>, std::vector<double>) {
    allocations_and_steps<S>(0.1);  // warm-up: the tableau is built once, on first use
    const auto [short_allocs, short_steps] = allocations_and_steps<S>(1.0);
    const auto [long_allocs, long_steps] = allocations_and_steps<S>(10.0);
    CHECK(long_steps > 5 * short_steps);
    CHECK(long_allocs == short_allocs);
}
