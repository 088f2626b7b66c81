// Data-parallel MNIST ODE-Net training over MPI (odenet::distributed): the time of one training
// step of examples/mnist's ODE-Net (odenet::mnist::Classifier: dopri5 at rtol = atol = 1e-3,
// adjoint gradients, float32, 208,266 parameters) with SGD (momentum 0.9, lr 0.1 · B/128), each
// rank on its own batch of B images:
//   forward, cross-entropy, GradientAverager::backward(loss, B) (bucketed all-reduce overlapped
//   with backward), optimizer step.
// Run with 1 and 2 ranks and compare (bench/distributed/scaling does, and prints the table):
//   mpiexec -n 2 build/bench/bench_distributed --benchmark_out=out.json --benchmark_out_format=json
// Only rank 0 reports; the other ranks run the same benchmarks with a reporter that prints nothing.
//
// Every rank runs the same fixed number of steps (a warm-up, then Iterations(k)), as every step's
// all-reduce needs all ranks. The step's wall time is rank 0's (the all-reduce makes every rank
// wait for the slowest), set with UseManualTime. Counters, per step:
//   images_per_second            ranks · B / step time (all ranks together)
//   images_per_second_per_rank   B / step time
//   allreduce_share              GradientAverager::stats().wait_seconds / step time: the time the
//                                step waits in finish() for the all-reduces, which includes waiting
//                                for a slower rank (an uneven NFE), not only the transfer
//   allreduce_bytes              bytes each rank sends into the all-reduces per step
//   nfe_forward, nfe_backward    mean over ranks; *_max the slowest rank's (the adaptive solver's
//                                NFE depends on the data and the weights, so it is reported)
//   cpu_ms, cpu_ms_max           the step's process CPU time, mean over ranks and the largest: a
//                                step much longer than its CPU time lost its core to other work
//                                (or slept waiting for the other rank)
//   parameters, ranks, batch_per_rank, threads
// BM_gradient_allreduce times the all-reduce alone, without a training step around it: a barrier,
// then GradientAverager::average(B) on the model's gradients (pack, one all-reduce, unpack), and
// separately a plain distributed::sum of as many bytes (parameters · 4).
//
// Data: the MNIST training images when data/cache/mnist holds them (scripts/fetch-mnist; run from
// the repository root), synthetic_digits otherwise; the JSON context's "data" says which. Rank r
// takes its batches from its own shard (positions [r·L, (r+1)·L) of one fixed permutation of the
// first 8·L images, L = 2048), step s the next B of them: rank 0 sees the same images in a 1-rank
// and a 2-rank run, and rank 1 different images of the same kind. (Up to 8 ranks; more share shards.)
//
// Threads: one odenet thread per rank, or BENCH_THREADS.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "odenet/core/blas_info.hpp"
#include "odenet/core/heap.hpp"
#include "odenet/core/parallel.hpp"
#include "odenet/distributed.hpp"
#include "odenet/mnist/models.hpp"
#include "odenet/mnist/train.hpp"
#include "odenet/odenet.hpp"

using namespace odenet;
namespace dist = odenet::distributed;
namespace mn = odenet::mnist;

namespace {

constexpr std::size_t kShard = 2048, kShards = 8;
const dist::World* g_world = nullptr;

struct Data {
    mn::Dataset set;
    std::string source;
    std::vector<std::size_t> order;  // one fixed permutation, the same on every rank
};

const Data& data() {
    static const Data d = [] {
        Data out;
        const std::size_t n = kShard * kShards;
        if (std::filesystem::exists("data/cache/mnist/train-images-idx3-ubyte") ||
            std::filesystem::exists("data/cache/mnist/train-images-idx3-ubyte.gz")) {
            out.set = mn::load_split("data/cache", "mnist", true, n);
            out.source = "MNIST training images (data/cache/mnist)";
        }
        if (out.set.size() < n) {
            out.set = mn::synthetic_digits(n, 0);
            out.source = "synthetic_digits (no data/cache/mnist: run scripts/fetch-mnist)";
        }
        Generator gen(0);
        out.order = randperm(n, gen);
        return out;
    }();
    return d;
}

// Rank r's batch at step s: B positions of its shard, wrapping around.
std::vector<std::size_t> batch_order(std::size_t step, std::size_t batch) {
    const Data& d = data();
    const std::size_t shard = std::size_t(g_world->rank()) % kShards;
    std::vector<std::size_t> idx(batch);
    for (std::size_t i = 0; i < batch; ++i) idx[i] = d.order[shard * kShard + (step * batch + i) % kShard];
    return idx;
}

// The model of seed 0, then rank 0's weights on every rank (as DistributedDataParallel starts).
mn::Classifier seeded_model() {
    manual_seed(0);
    return mn::Classifier(mn::ModelOptions{});
}

struct Trainer {
    mn::Classifier model = seeded_model();
    optim::SGD optimizer;
    dist::GradientAverager averager;
    std::size_t batch;
    std::size_t step = 0;

    explicit Trainer(std::size_t b)
        : optimizer(model.parameters(), {.lr = 0.1 * double(b) / 128.0, .momentum = 0.9}),
          averager(*g_world, (dist::broadcast_module(*g_world, model), model.named_parameters())),
          batch(b) {}

    std::size_t parameters() {
        std::size_t n = 0;
        for (const Var& p : model.parameters()) n += p.numel();
        return n;
    }

    struct Nfe {
        std::size_t forward = 0, backward = 0;
    };
    Nfe train_step() {
        const auto idx = batch_order(step++, batch);
        const Tensor<float> images = mn::gather_images(data().set, idx, 0, batch);
        const auto labels = mn::gather_labels(data().set, idx, 0, batch);
        Var logits = model(Var(images));
        Var loss = nn::functional::cross_entropy(logits, labels);
        optimizer.zero_grad();
        averager.backward(loss, batch);
        optimizer.step();
        return {model.last_nfe(), model.last_backward_nfe()};
    }
};

// This process's CPU time (all its threads), to tell a slow step from one that lost its core.
double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void BM_mnist_odenet_step(benchmark::State& state) {
    const std::size_t batch = std::size_t(state.range(0));
    const double ranks = double(g_world->size());
    Trainer t(batch);
    for (int i = 0; i < 2; ++i) t.train_step();  // warm-up: first allocations, heap growth
    const dist::AveragerStats before = t.averager.stats();
    g_world->barrier("bench_distributed: before the timed steps");
    double total = 0, nfe_f = 0, nfe_b = 0, nfe_f_max = 0, nfe_b_max = 0, cpu = 0, cpu_max = 0;
    std::size_t steps = 0;
    for (auto _ : state) {
        const double t0 = now(), c0 = cpu_now();
        const auto nfe = t.train_step();
        const double dt = now() - t0, dc = cpu_now() - c0;
        state.SetIterationTime(dt);
        total += dt;
        // NFE and CPU time over ranks, after the step's timing: two small all-reduces per step,
        // outside the timed step.
        const double f = double(nfe.forward), b = double(nfe.backward);
        const auto sum = dist::sum(*g_world, {f, b, dc}, "bench: nfe");
        const auto mx = dist::max(*g_world, {f, b, dc}, "bench: nfe");
        nfe_f += sum[0] / ranks, nfe_b += sum[1] / ranks, nfe_f_max += mx[0], nfe_b_max += mx[1];
        cpu += sum[2] / ranks, cpu_max += mx[2];
        ++steps;
    }
    const dist::AveragerStats& after = t.averager.stats();
    const double n = double(steps), step_s = total / n;
    state.counters["images_per_second"] = ranks * double(batch) / step_s;
    state.counters["images_per_second_per_rank"] = double(batch) / step_s;
    state.counters["allreduce_share"] = (after.wait_seconds - before.wait_seconds) / total;
    state.counters["allreduce_wait_ms"] = 1e3 * (after.wait_seconds - before.wait_seconds) / n;
    state.counters["allreduce_bytes"] = double(after.bytes - before.bytes) / n;
    state.counters["allreduce_calls"] = double(after.allreduce_calls - before.allreduce_calls) / n;
    state.counters["nfe_forward"] = nfe_f / n;
    state.counters["nfe_backward"] = nfe_b / n;
    state.counters["nfe_forward_max"] = nfe_f_max / n;
    state.counters["nfe_backward_max"] = nfe_b_max / n;
    state.counters["cpu_ms"] = 1e3 * cpu / n;
    state.counters["cpu_ms_max"] = 1e3 * cpu_max / n;
    state.counters["parameters"] = double(t.parameters());
    state.counters["ranks"] = ranks;
    state.counters["batch_per_rank"] = double(batch);
    state.counters["threads"] = double(num_threads());
    state.SetLabel(data().source);
}
// Iterations() holds for a whole registration, hence one per batch size.
BENCHMARK(BM_mnist_odenet_step)->Arg(32)->Iterations(30)->ArgName("batch")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mnist_odenet_step)->Arg(64)->Iterations(20)->ArgName("batch")->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_mnist_odenet_step)->Arg(128)->Iterations(10)->ArgName("batch")->UseManualTime()->Unit(benchmark::kMillisecond);

// The all-reduce of one step's gradients alone: GradientAverager::average (pack, MPI_Iallreduce,
// unpack) after a barrier, and a plain sum of parameters · 4 bytes (as doubles) for comparison.
void BM_gradient_allreduce(benchmark::State& state) {
    Trainer t(32);
    t.train_step();  // gives every parameter a gradient
    const std::size_t params = t.parameters();
    std::vector<double> payload((params * 4 + 7) / 8, 1.0);
    double avg_total = 0, sum_total = 0;
    std::size_t n = 0;
    for (auto _ : state) {
        g_world->barrier("bench: allreduce barrier");
        double t0 = now();
        t.averager.average(32);
        const double dt = now() - t0;
        g_world->barrier("bench: allreduce barrier");
        t0 = now();
        benchmark::DoNotOptimize(dist::sum(*g_world, payload, "bench: plain sum"));
        sum_total += now() - t0;
        state.SetIterationTime(dt);
        avg_total += dt;
        ++n;
    }
    state.counters["average_us"] = 1e6 * avg_total / double(n);
    state.counters["plain_sum_us"] = 1e6 * sum_total / double(n);
    state.counters["bytes"] = double(params * 4);
    state.counters["parameters"] = double(params);
    state.counters["ranks"] = double(g_world->size());
    state.SetLabel("GradientAverager::average of the ODE-Net's gradients");
}
BENCHMARK(BM_gradient_allreduce)->Iterations(200)->UseManualTime()->Unit(benchmark::kMicrosecond);

// What ranks other than 0 report: nothing.
class QuietReporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>&) override {}
};

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
    dist::World world;
    g_world = &world;
    return dist::run_ranks(world, "bench_distributed", [&] {
        odenet::tune_heap_for_training();
        const char* t = std::getenv("BENCH_THREADS");
        odenet::set_num_threads(t ? std::atoi(t) : 1);
        // Only rank 0 writes the output file: the others drop --benchmark_out*.
        std::vector<char*> args(argv, argv + argc);
        if (!world.is_root()) {
            args.erase(std::remove_if(args.begin() + 1, args.end(),
                                      [](char* a) { return std::strncmp(a, "--benchmark_out", 15) == 0; }),
                       args.end());
        }
        int n = int(args.size());
        args.push_back(nullptr);
        benchmark::AddCustomContext("blas", odenet::blas_summary());
        benchmark::AddCustomContext("data", data().source);
        benchmark::AddCustomContext("ranks", std::to_string(world.size()));
        benchmark::AddCustomContext("threads_per_rank", std::to_string(num_threads()));
        benchmark::AddCustomContext("OPENBLAS_CORETYPE", env_or("OPENBLAS_CORETYPE", "(unset)"));
        benchmark::AddCustomContext("OPENBLAS_L2_SIZE", env_or("OPENBLAS_L2_SIZE", "(unset)"));
        benchmark::Initialize(&n, args.data());
        if (world.is_root()) {
            benchmark::RunSpecifiedBenchmarks();
        } else {
            QuietReporter quiet;
            benchmark::RunSpecifiedBenchmarks(&quiet);
        }
        benchmark::Shutdown();
        return 0;
    });
}
