#include <doctest/doctest.h>

#include <cctype>
#include <string>
#include <vector>

#include "odenet/core/blas_info.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/parallel.hpp"

using namespace odenet;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("every error type carries where and what") {
    const ShapeError shape("matmul", "inner dimensions differ, (3, 4) @ (5, 2)");
    CHECK(std::string(shape.what()) == "matmul: inner dimensions differ, (3, 4) @ (5, 2)");
    CHECK(shape.where() == "matmul");

    const ValueError value("rk_step", "NaN in the state");
    CHECK(std::string(value.what()) == "rk_step: NaN in the state");

    const DtypeError dtype("add", "float32 and float64 mixed");
    CHECK(contains(dtype.what(), "float32 and float64"));

    const GraphError graph("backward", "the graph was freed");
    CHECK(contains(graph.what(), "backward: the graph"));

    const SolverError solver("solve", 0.25, 1e-14, "step size underflow");
    CHECK(contains(solver.what(), "t = 0.25"));
    CHECK(contains(solver.what(), "h = 1e-14"));
    CHECK(contains(solver.what(), "step size underflow"));
    CHECK(solver.t() == 0.25);
    CHECK(solver.h() == 1e-14);
    CHECK(solver.reason() == "step size underflow");

    const IOError io("load", "model.npz", "truncated after 12 bytes");
    CHECK(std::string(io.what()) == "load: 'model.npz': truncated after 12 bytes");
    CHECK(io.path() == "model.npz");
}

TEST_CASE("all errors are odenet::Error and std::runtime_error") {
    CHECK_THROWS_AS(throw ShapeError("a", "b"), Error);
    CHECK_THROWS_AS(throw SolverError("a", 0, 0, "b"), Error);
    CHECK_THROWS_AS(throw IOError("a", "p", "b"), std::runtime_error);
}

TEST_CASE("BLAS information: the library's own report, consistently parsed, and the thread count") {
    // Whatever BLAS is linked: library is the first two words of its configuration string (name
    // and version), the summary is built from the fields and odenet's thread count, and OpenBLAS
    // runs single-threaded once odenet has called it, whatever odenet's count (its pool owns the
    // threads: Note [One thread owner]).
    const int before = num_threads();
    const BlasInfo info = blas_info();
    REQUIRE_FALSE(info.config.empty());
    CHECK(info.config.rfind(info.library, 0) == 0);  // a prefix of the configuration string
    const auto space = info.library.find(' ');
    REQUIRE(space != std::string::npos);
    CHECK(info.library.find(' ', space + 1) == std::string::npos);  // exactly two words
    CHECK(std::isdigit(static_cast<unsigned char>(info.library[space + 1])));  // the second one a version
    CHECK_FALSE(info.core.empty());
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        set_num_threads(threads);
        CHECK(num_threads() == threads);
        std::vector<double> a(64 * 64, 1.0), c(64 * 64);
        blas_gemm(false, false, 64, 64, 64, a.data(), 64, a.data(), 64, 0.0, c.data(), 64);
        CHECK(blas_info().threads == 1);
        CHECK(blas_summary() == info.library + " (" + info.core + " kernels), odenet " + std::to_string(threads) +
                                    (threads == 1 ? " thread" : " threads"));
    }
    set_num_threads(before);
    CHECK_THROWS_AS(set_num_threads(0), ValueError);
    CHECK(num_threads() == before);
}
