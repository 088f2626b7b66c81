#include "odenet/distributed/world.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "mpi_calls.hpp"

namespace odenet::distributed {

namespace {

std::atomic<bool> world_exists{false};

double checked_timeout(double seconds) {
    if (!(std::isfinite(seconds) && seconds > 0)) {
        std::ostringstream text;
        text << "the timeout is " << seconds << " s; it must be a finite number of seconds > 0";
        throw ValueError("distributed::World", text.str());
    }
    return seconds;
}

}  // namespace

World::World(WorldOptions options) : timeout_(checked_timeout(options.timeout_seconds)) {
    if (world_exists.exchange(true)) {
        throw ValueError("distributed::World", "a World exists already; a process has one (MPI starts once)");
    }
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) {
        world_exists = false;
        throw ValueError("distributed::World", "MPI was finalised when the previous World ended, and cannot start "
                                               "again; make one World for the whole run");
    }
    if (!initialized) {
        int provided = 0;
        const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) {
            world_exists = false;
            throw CommunicationError("distributed::World", "MPI_Init_thread failed (code " + std::to_string(rc) + ")");
        }
    }
    // Errors come back as codes (detail::check turns them into exceptions naming the call), so a
    // failure is reported with its cause instead of MPI's default abort without our message.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    detail::check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
                  "distributed::World");
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
}

World::~World() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    world_exists = false;
}

void World::set_timeout(double seconds) { timeout_ = checked_timeout(seconds); }

std::string World::name() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(size_); }

void World::barrier(const std::string& what) const {
    MPI_Request request;
    detail::check(MPI_Ibarrier(MPI_COMM_WORLD, &request), what);
    detail::wait(*this, request, what);
}

void World::abort(const std::string& message) const {
    std::fprintf(stderr, "%s\n", message.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);  // MPI_Abort does not return; should an implementation's return, still stop
}

int run_ranks(const World& world, const std::string& program, const std::function<int()>& body) {
    std::string error;
    try {
        return body();
    } catch (const std::exception& e) {
        error = e.what();
    } catch (...) {
        error = "an exception that is not a std::exception";
    }
    // odenet's errors start with where they come from; the program's own name is said once.
    const std::string own = program + ": ";
    if (error.rfind(own, 0) == 0) error.erase(0, own.size());
    const std::string message = own + world.name() + ": " + error;
    if (world.size() > 1) world.abort(message);
    std::fprintf(stderr, "%s\n", message.c_str());
    return 1;
}

}  // namespace odenet::distributed
