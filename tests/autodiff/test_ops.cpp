// Every op in op_registry.cpp passes gradcheck and gradgradcheck in float64.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>

#include "odenet/testing/gradcheck.hpp"
#include "op_registry.hpp"

using namespace odenet;
using namespace odenet::testing;

TEST_CASE("every op passes gradcheck") {
    for (const OpCase& c : op_registry()) {
        SUBCASE((c.op + ": " + c.label).c_str()) {
            const auto inputs = sample_inputs(c, 7);
            const auto result = gradcheck(c.fn, inputs, c.tolerance);
            INFO(c.op, " (", c.label, "): ", result.message);
            CHECK(result.ok);
        }
    }
}

TEST_CASE("every op passes gradgradcheck") {
    for (const OpCase& c : op_registry()) {
        SUBCASE((c.op + ": " + c.label).c_str()) {
            const auto inputs = sample_inputs(c, 11);
            const auto result = gradgradcheck(c.fn, inputs, c.tolerance);
            INFO(c.op, " (", c.label, "): ", result.message);
            CHECK(result.ok);
        }
    }
}

// The op table of docs/DESIGN.md ("The ops"): the table whose header row is
// "| op | derivative used |", up to the first line after it that is not a table row.
TEST_CASE("docs/DESIGN.md's op table lists exactly the ops in the registry") {
    std::ifstream doc(ODENET_SOURCE_DIR "/docs/DESIGN.md");
    REQUIRE(doc.good());
    std::set<std::string> documented;
    bool in_table = false;
    std::string line;
    const std::regex row(R"(^\| `([a-z0-9_]+)` \|)");
    while (std::getline(doc, line)) {
        if (line.rfind("| op | derivative used |", 0) == 0) {
            in_table = true;
            continue;
        }
        if (in_table && line.rfind("|", 0) != 0) in_table = false;
        std::smatch m;
        if (in_table && std::regex_search(line, m, row)) documented.insert(m[1]);
    }
    std::set<std::string> registered;
    for (const OpCase& c : op_registry()) registered.insert(c.op);
    CHECK(documented == registered);
    for (const auto& op : registered)
        if (!documented.count(op)) FAIL_CHECK("op '", op, "' is in the registry but not in docs/DESIGN.md's op table");
    for (const auto& op : documented)
        if (!registered.count(op)) FAIL_CHECK("op '", op, "' is in docs/DESIGN.md's op table but has no registry row");
}
