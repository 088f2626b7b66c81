#pragma once
// One row per differentiable op: its name (as in the op table of docs/DESIGN.md), sample input
// shapes, the domain its inputs are drawn from, and the call. test_ops.cpp runs gradcheck and
// gradgradcheck over every row; adding an op means adding a row here (test_ops checks that
// docs/DESIGN.md's table agrees).
#include <functional>
#include <string>
#include <vector>

#include "odenet/autodiff.hpp"
#include "odenet/testing/gradcheck.hpp"

namespace odenet::testing {

enum class Domain {
    any,       // standard normal
    positive,  // uniform on [0.5, 2]
    nonzero,   // |x| in [0.5, 2], random sign: keeps abs, relu and division away from their kinks
    dyadic,    // standard normal rounded to k/16 (at most 7 significant bits): exact in float32
};

struct OpCase {
    std::string op;     // the op's name in docs/DESIGN.md's op table
    std::string label;  // what this case covers (e.g. "broadcast (3,1,4) with (2,4)")
    std::vector<Shape> shapes;
    Domain domain = Domain::any;
    std::function<Var(const std::vector<Var>&)> fn;
    GradcheckOptions tolerance{};  // the defaults (Note [gradcheck tolerances]), except where a row says why
};

const std::vector<OpCase>& op_registry();

/// Seeded float64 inputs for a case.
std::vector<Var> sample_inputs(const OpCase& c, std::uint64_t seed);

}  // namespace odenet::testing
