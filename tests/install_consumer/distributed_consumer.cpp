// A user's data-parallel program against the installed odenet::distributed: two ranks (run.cmake
// starts it with mpiexec -n 2) average a gradient and agree on it.
#include <cstdio>

#include <odenet/distributed.hpp>
#include <odenet/odenet.hpp>

int main() {
    namespace dist = odenet::distributed;
    dist::World world;
    return dist::run_ranks(world, "distributed_consumer", [&] {
        odenet::nn::Linear layer(3, 1);
        dist::broadcast_module(world, layer);
        dist::GradientAverager averager(world, layer.named_parameters());
        // Rank r's loss: (r + 1) · sum(bias); the average gradient over equal shards is the mean of (r + 1).
        odenet::Var loss = odenet::sum(layer.bias) * double(world.rank() + 1);
        averager.backward(loss, 1);
        const double expected = (world.size() + 1) / 2.0;
        const double got = layer.bias.grad().item();
        const double agreed = dist::sum(world, got) / world.size();
        if (got != expected || agreed != expected) {
            std::printf("distributed_consumer: rank %d has gradient %g, expected %g\n", world.rank(), got, expected);
            return 1;
        }
        if (world.is_root()) std::printf("distributed_consumer: %d ranks: OK\n", world.size());
        return 0;
    });
}
