#pragma once
// World: the processes of one data-parallel run (MPI_COMM_WORLD) and this one's place in it.
//
// Started by `mpiexec -n N program`, every process constructs one World, and each sees rank() in
// [0, N) and size() = N. Started without mpiexec, the program is a world of one (MPI's singleton
// start), so a program written for N ranks runs unchanged on one.
//
// Note [Failing ranks]
// A rank that stops alone leaves the others waiting in the next collective for ever. Two rules
// prevent that hang:
//  - run_ranks() catches what a rank throws, prints "<program>: rank r of N: <error>" and aborts
//    the whole job (MPI_Abort), so every rank exits within moments, with that line on stderr;
//    a rank that crashes outright (a signal) is ended by mpiexec, which kills the others.
//  - Every collective waits at most World::timeout() seconds (polling a non-blocking request)
//    and then throws TimeoutError naming the collective: a rank stuck in an endless loop ends
//    the job too, as the others time out.
// MPI calls return their errors (MPI_ERRORS_RETURN) and become CommunicationError, never a
// silent abort without a message.
// What neither rule can see: every rank must make the same collective calls in the same order.
// A rank that returns normally while the others still call collectives leaves them waiting the
// full timeout (600 s by default); calls that differ in size fail with MPI's error (such as
// MPI_ERR_TRUNCATE); calls alike in kind and size but meant differently are not detected.
#include <functional>
#include <string>

#include "odenet/core/error.hpp"

namespace odenet::distributed {

/// A collective that waited longer than World::timeout() for the other ranks.
class TimeoutError : public Error {
public:
    using Error::Error;
};

/// An MPI call that failed; the message is MPI's own error string.
class CommunicationError : public Error {
public:
    using Error::Error;
};

struct WorldOptions {
    /// Seconds any collective may wait for the other ranks before TimeoutError. Long enough for
    /// the slowest rank's step and for rank 0 writing a checkpoint; > 0.
    double timeout_seconds = 600;
};

class World {
public:
    /// Initialises MPI (once per process; MPI_THREAD_FUNNELED: only the thread that made the
    /// World calls MPI, odenet's pool threads never do). ValueError when a World exists already,
    /// when an earlier one has ended (MPI cannot start twice), or when timeout_seconds is not a
    /// finite number > 0; CommunicationError when MPI fails to start. These come before there are
    /// ranks to end: catch them around the constructor, not in run_ranks.
    explicit World(WorldOptions options = {});
    /// Finalises MPI. Every rank must get here: a rank that throws goes through run_ranks.
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    /// Ranks on this machine (sharing its memory) and this one's place among them: a program
    /// gives each about cores / local_size() threads.
    int local_size() const { return local_size_; }
    int local_rank() const { return local_rank_; }
    /// Rank 0: the one that prints, logs and writes files.
    bool is_root() const { return rank_ == 0; }
    double timeout() const { return timeout_; }
    /// Changes the limit on every later wait (ValueError unless a positive number of seconds).
    void set_timeout(double seconds);
    /// "rank 1 of 2": how messages name this process.
    std::string name() const;

    /// Waits until every rank has called barrier(); `what` names it in a TimeoutError.
    void barrier(const std::string& what = "barrier") const;

    /// Prints `message` on stderr and ends every rank of the job with exit code 1 (MPI_Abort).
    [[noreturn]] void abort(const std::string& message) const;

private:
    int rank_ = 0;
    int size_ = 1;
    int local_rank_ = 0;
    int local_size_ = 1;
    double timeout_ = 0;
};

/// Runs `body` on this rank and returns its exit code. Whatever it throws is printed as
/// "<program>: rank r of N: <what()>" and, with more than one rank, ends the whole job
/// (World::abort; see Note [Failing ranks]); with one rank the code is 1.
int run_ranks(const World& world, const std::string& program, const std::function<int()>& body);

}  // namespace odenet::distributed
