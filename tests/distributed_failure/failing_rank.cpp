// A job in which one rank fails, for check_failure.cmake: the job must end, every rank, within
// moments, with a message naming the failing rank and its error (Note [Failing ranks]).
//   failing_rank throw   rank 1 throws while rank 0 waits in an all-reduce it will never complete
//   failing_rank stuck   rank 1 never arrives (an endless computation); rank 0's wait times out
#include <chrono>
#include <cstring>
#include <thread>

#include "odenet/distributed.hpp"

namespace dist = odenet::distributed;

int main(int argc, char** argv) {
    const bool stuck = argc > 1 && std::strcmp(argv[1], "stuck") == 0;
    dist::World world({.timeout_seconds = stuck ? 2.0 : 600.0});
    return dist::run_ranks(world, "failing_rank", [&] {
        world.barrier("start");
        if (world.rank() == 1) {
            if (!stuck) throw odenet::ValueError("train_step", "the loss became nan at step 3");
            std::this_thread::sleep_for(std::chrono::minutes(10));
        }
        dist::sum(world, 1.0, "the step's loss");  // rank 1 never joins
        return 0;
    });
}
