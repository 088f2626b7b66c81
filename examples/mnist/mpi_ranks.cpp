#include "odenet/mnist/mpi_ranks.hpp"

#include "odenet/distributed.hpp"

namespace odenet::mnist {

namespace {

class MpiRanks final : public Ranks {
public:
    explicit MpiRanks(const distributed::World& world) : world_(world) {}
    int rank() const override { return world_.rank(); }
    int size() const override { return world_.size(); }
    std::vector<double> sum(std::vector<double> values) override {
        return distributed::sum(world_, std::move(values), "mnist: the metrics");
    }
    void attach(nn::Module& model) override {
        distributed::broadcast_module(world_, model);
        averager_ = std::make_unique<distributed::GradientAverager>(world_, model.named_parameters());
    }
    void backward(const Var& loss, std::size_t examples) override {
        if (examples == 0) {
            averager_->skip_backward();
        } else {
            averager_->backward(loss, examples);
        }
    }
    void shard(std::size_t dataset_size, std::size_t per_rank_batch, std::uint64_t seed) override {
        sampler_ = std::make_unique<distributed::DistributedSampler>(distributed::SamplerOptions{
            .dataset_size = dataset_size, .batch_size = per_rank_batch, .rank = rank(), .ranks = size(), .seed = seed});
    }
    std::size_t steps_per_epoch() const override { return sampler_->steps_per_epoch(); }
    std::vector<std::size_t> batch(std::size_t epoch, std::size_t step) override {
        if (sampler_->epoch() != epoch) sampler_->set_epoch(epoch);
        return sampler_->batch(step).indices;
    }
    double communication_seconds() const override { return averager_ ? averager_->stats().wait_seconds : 0.0; }

private:
    const distributed::World& world_;
    std::unique_ptr<distributed::GradientAverager> averager_;
    std::unique_ptr<distributed::DistributedSampler> sampler_;
};

}  // namespace

std::unique_ptr<Ranks> mpi_ranks(const distributed::World& world) { return std::make_unique<MpiRanks>(world); }

}  // namespace odenet::mnist
