// The multi-rank suite's main: every rank (mpiexec -n 2, tests/CMakeLists.txt) makes the one
// World and runs every test case, in the same order, so that their collectives meet.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "odenet/core/parallel.hpp"
#include "the_world.hpp"

namespace odenet::test {
const distributed::World* the_world_ = nullptr;
}

int main(int argc, char** argv) {
    odenet::set_num_threads(1);  // two ranks on two cores
    // A failed check on one rank can leave the other waiting in a collective: a short limit
    // turns that into a TimeoutError (a failed case) well inside ctest's timeout.
    odenet::distributed::World world({.timeout_seconds = 60});
    odenet::test::the_world_ = &world;
    doctest::Context context(argc, argv);
    return context.run();
}
