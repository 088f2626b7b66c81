#pragma once
// GradientAverager: after each rank's backward over its own shard, every rank holds the gradient
// of the loss over the whole global batch, as one process with that batch would (Note [Weighted
// averaging]). Gradients travel in flat buckets, one MPI_Allreduce per bucket, not per tensor.
//
// Note [Weighted averaging]
// Rank r's loss is the mean over its n_r examples, so its gradient is g_r = (1/n_r) Σ_{i∈r} ∇ℓ_i.
// The global batch's gradient is (1/n) Σ_i ∇ℓ_i = Σ_r n_r g_r / Σ_r n_r. Each bucket therefore
// carries n_r·g_r and n_r, and is divided by the summed n after the all-reduce. Equal shards give
// the plain mean; a short last batch, or a rank with no example at all (n_r = 0, no backward),
// still gives the exact global gradient. Each bucket also carries one flag per parameter ("had a
// gradient on this rank"): a parameter with no gradient on any rank keeps none, as it would in one
// process (the optimizer then skips it); one with a gradient on some ranks gets the weighted sum,
// the others counting as zero, which is what their examples contributed.
//
// Note [Overlapping communication with backward]
// backward() passes the engine a hook (GradOptions::on_leaf_done) that hears of each parameter
// as soon as its gradient is final. Buckets are filled in reverse registration order (the order
// backward produces gradients: the last layer first), and a full bucket's MPI_Iallreduce starts
// at once, while the backward pass continues with the layers below. finish() starts what is left
// and waits for all. The result is the same as average() after a plain backward, bit for bit.
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "odenet/autodiff/var.hpp"
#include "odenet/distributed/world.hpp"

namespace odenet::distributed {

struct AveragerOptions {
    /// A bucket's size in bytes; parameters are grouped in order until the next would exceed it
    /// (a parameter larger than this is a bucket of its own). PyTorch's default, 25 MB; > 0.
    /// Overlap needs more than one bucket: a model smaller than this sends one bucket after
    /// backward (the ODE-Net's 0.8 MB take 0.3 ms on 2 ranks here, docs/DISTRIBUTED.md).
    std::size_t bucket_bytes = std::size_t(25) << 20;
    /// Start each bucket's all-reduce during backward() (Note [Overlapping communication with backward]).
    bool overlap = true;
};

/// Counters since construction (for the share of a step spent communicating).
struct AveragerStats {
    std::size_t steps = 0;
    std::size_t allreduce_calls = 0;
    std::size_t started_during_backward = 0;  ///< all-reduces started before backward returned
    std::size_t bytes = 0;        ///< per rank, sent into the all-reduces
    /// Time in backward()/average() waiting for the all-reduces to complete after backward: the
    /// transfer and any wait for slower ranks (a rank whose shard took longer to solve).
    double wait_seconds = 0;
};

class GradientAverager {
public:
    /// `parameters`: the model's named parameters, in registration order, the same names, shapes
    /// and dtypes on every rank (checked: ValueError naming the first difference, or an empty list).
    GradientAverager(const World& world, std::vector<std::pair<std::string, Var>> parameters,
                     AveragerOptions options = {});
    ~GradientAverager();
    GradientAverager(const GradientAverager&) = delete;
    GradientAverager& operator=(const GradientAverager&) = delete;

    /// backward(loss) with the buckets' all-reduces started as gradients become final, then
    /// finish(): afterwards every parameter's grad() is the global batch's. As odenet::backward,
    /// it adds to gradients already there: zero them first (optimizer.zero_grad()). `examples`: this rank's
    /// share of the global batch (n_r of Note [Weighted averaging]); the loss must be the mean over them.
    void backward(const Var& loss, std::size_t examples);
    /// For a rank without any example this step (a short last batch): takes part with n_r = 0.
    void skip_backward();
    /// Without overlap: averages the gradients already in grad() (after the caller's own backward).
    void average(std::size_t examples);

    std::size_t bucket_count() const;
    /// Parameter names per bucket, in the order they are sent.
    std::vector<std::vector<std::string>> buckets() const;
    const AveragerStats& stats() const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace odenet::distributed
