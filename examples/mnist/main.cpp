// mnist: the Neural ODE paper's supervised experiment (Chen et al., 2018, section 3 and Table 1):
// ODE-Net, RK-Net and ResNet on MNIST or Fashion-MNIST, trained as its code
// (torchdiffeq examples/odenet_mnist.py), and a test-time sweep of the solver tolerance.
//
//   scripts/fetch-mnist
//   build/examples/mnist/mnist --model odenet --epochs 1 --schedule late --batch-size 32 --out out/mnist-odenet
//   build/examples/mnist/mnist --model odenet --epochs 5 --schedule late --out out/mnist-odenet-5
//   build/examples/mnist/mnist --eval-only out/mnist-odenet/checkpoint.npz --tolerances 1e-1,1e-2,1e-3,1e-4
//   mpiexec -n 2 build/examples/mnist/mnist --distributed --batch-size 16 --epochs 1 --schedule late --out out/mnist-2ranks
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "odenet/examples/flags.hpp"
#include "odenet/mnist/train.hpp"
#include "odenet/odenet.hpp"
#ifdef ODENET_WITH_DISTRIBUTED
#include "odenet/distributed/world.hpp"
#include "odenet/mnist/mpi_ranks.hpp"
#endif

namespace mn = odenet::mnist;
namespace ex = odenet::examples;

namespace {

// Training, as one process or as one rank of a distributed run (o.ranks set).
void report_training(const mn::TrainOptions& o, const std::string& model) {
    const auto s = mn::train(o);
    if (o.ranks && !o.ranks->is_root()) return;
    if (!s.train_loss.empty()) {
        std::printf("done: %s, %zu parameters, test accuracy %.2f%%, last epoch %.1f s\n", model.c_str(), s.parameters,
                    100.0 * s.last_test.accuracy, s.last_epoch_seconds);
    } else {
        std::printf("nothing to do: %zu epochs already done (raise --epochs)\n", o.epochs);
    }
}

#ifdef ODENET_WITH_DISTRIBUTED
// One rank of `mpiexec -n N mnist --distributed`: an error on any rank ends every rank, naming it.
int train_distributed(mn::TrainOptions o, const std::string& model, int threads) {
    std::optional<odenet::distributed::World> started;
    try {
        started.emplace();
    } catch (const odenet::Error& e) {  // MPI did not start: no ranks to end yet
        std::fprintf(stderr, "mnist: --distributed: %s\n", e.what());
        return 1;
    }
    const odenet::distributed::World& world = *started;
    return odenet::distributed::run_ranks(world, "mnist", [&] {
        // The ranks on one machine share its cores (without --threads).
        const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
        odenet::set_num_threads(threads > 0 ? threads : std::max(1, cores / world.local_size()));
        auto ranks = mn::mpi_ranks(world);
        o.ranks = ranks.get();
        if (world.is_root()) {
            std::printf("odenet %s, BLAS: %s; %d rank%s, %d thread%s each\n", ODENET_VERSION_STRING,
                        odenet::blas_summary().c_str(), world.size(), world.size() == 1 ? "" : "s",
                        odenet::num_threads(), odenet::num_threads() == 1 ? "" : "s");
        }
        report_training(o, model);
        return 0;
    });
}
#endif

}  // namespace

// Every flag is checked as it is parsed (examples/common flags.hpp): a bad value ends the program
// with one line naming the flag, the value and the allowed range, before any work.
int main(int argc, char** argv) {
    odenet::tune_heap_for_training();  // a training loop: keep freed memory for the next step
    CLI::App app{"ODE-Net / RK-Net / ResNet on MNIST, as the Neural ODE paper (Chen et al., 2018)"};
    ex::one_line_errors(app, "mnist");
    mn::TrainOptions o;
    std::string model = "odenet", eval_only;
    std::vector<double> tolerances = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 1e-4};
    int threads = 0;
    std::size_t time_steps = 0;
    const ex::Interval positive{.lo = 0, .lo_open = true}, tolerance{.lo = 0, .hi = 1, .lo_open = true};
    constexpr long long kTrainImages = 60000, kTestImages = 10000, kMaxSteps = 1000000000;
    app.add_option("--dataset", o.dataset, "mnist or fashion")->check(CLI::IsMember({"mnist", "fashion"}))->capture_default_str();
    app.add_option("--data", o.data_root, "folder holding mnist/ and fashion-mnist/ (scripts/fetch-mnist)")
        ->check(ex::non_empty())
        ->capture_default_str();
    app.add_option("--model", model, "odenet (adjoint), rknet (backprop through dopri5) or resnet (6 residual blocks)")
        ->check(CLI::IsMember({"odenet", "rknet", "resnet"}))
        ->capture_default_str();
    ex::add_whole(app, "--epochs", o.epochs, 1, mn::kMaxEpochs, "train until this many epochs are done (a resumed run continues)");
    ex::add_whole(app, "--batch-size", o.batch_size, 1, kTrainImages,
                  "images per step; --lr is scaled by batch/128 as in the paper's code (one epoch: 32, docs/PERFORMANCE.md)");
    app.add_option("--lr", o.lr, "learning rate at batch 128 (scaled by batch/128)")
        ->check(ex::finite_number(positive))
        ->capture_default_str();
    app.add_option("--schedule", o.schedule,
                   "x0.1 steps: 'paper' at epochs 60, 100, 140; 'scaled' at 3/8, 5/8, 7/8 of the run; "
                   "'late' once, for the last fifth of the run (short runs)")
        ->check(CLI::IsMember({"scaled", "paper", "late"}))
        ->capture_default_str();
    ex::add_whole(app, "--warmup-steps", o.warmup_steps, 0, kMaxSteps,
                  "lr rises linearly from a tenth over the first N steps (0 = none)");
    app.add_option("--tol", o.tol, "dopri5 rtol = atol of the ODE block")->check(ex::finite_number(tolerance))->capture_default_str();
    app.add_flag("--crop", o.crop, "random-crop augmentation (RandomCrop(28, padding=4))");
    ex::add_whole(app, "--limit-train", o.limit_train, 0, kTrainImages, "use the first N training images (0 = all)");
    ex::add_whole(app, "--limit-test", o.limit_test, 0, kTestImages, "use the first N test images (0 = all)");
    ex::add_whole(app, "--validation", o.validation, 0, kTrainImages - 1,
                  "hold out the last N training images and report accuracy on them instead of the test set "
                  "(for choosing hyper-parameters; 0 = off)");
    ex::add_whole(app, "--max-steps", o.max_steps, 0, kMaxSteps, "stop each epoch after N steps (0 = all; for timing)");
    app.add_flag("--synthetic", o.synthetic, "synthetic digits instead of files (a smoke run)");
    ex::add_whole(app, "--threads", threads, 0, 1024, "odenet's threads (0 = ODENET_NUM_THREADS, else all cores)");
    ex::add_whole(app, "--seed", o.seed, 0, std::numeric_limits<long long>::max(), "random seed");
    app.add_option("--out", o.out, "folder for checkpoint.npz, log.csv and the plots")->check(ex::non_empty())->capture_default_str();
    auto* resume = app.add_flag("--resume", o.resume,
                                "continue the run in --out from its checkpoint.npz (model, optimizer, epoch) and log.csv");
    app.add_flag("--overwrite", o.overwrite, "replace the run in --out (without it or --resume, a folder holding files is refused)")
        ->excludes(resume);
    app.add_option("--eval-only", eval_only, "load this checkpoint and report test accuracy and NFE at --tolerances")
        ->check(CLI::ExistingFile);
    app.add_option("--tolerances", tolerances, "solver tolerances for --eval-only")
        ->delimiter(',')
        ->check(ex::finite_number(tolerance))
        ->capture_default_str();
    ex::add_whole(app, "--time-steps", time_steps, 0, 1000,
                  "time N training steps and N inference batches (batch --batch-size), then exit (0 = off)");
    bool distributed = false;
    app.add_flag("--distributed", distributed,
                 "data-parallel training over MPI, started by mpiexec -n N (alone: one rank). --batch-size is per "
                 "rank: the global batch is N times it, and --lr is scaled by the global batch / 128 (the paper's "
                 "rule, so N ranks of B/N train as one process of B). Rank 0 prints and writes --out; every rank "
                 "reads it on --resume, which may use another N")
        ->excludes("--eval-only")
        ->excludes("--time-steps");
    CLI11_PARSE(app, argc, argv);
    if (distributed) {
#ifdef ODENET_WITH_DISTRIBUTED
        try {
            o.model = mn::model_from_name(model);
        } catch (const odenet::Error& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return 1;
        }
        return train_distributed(o, model, threads);
#else
        std::fprintf(stderr, "mnist: --distributed: this mnist was built without MPI; install libopenmpi-dev and "
                             "openmpi-bin (Debian), then configure and build again\n");
        return 1;
#endif
    }

    try {
        o.model = mn::model_from_name(model);
        if (threads > 0) odenet::set_num_threads(threads);
        std::printf("odenet %s, BLAS: %s\n", ODENET_VERSION_STRING, odenet::blas_summary().c_str());
        if (time_steps > 0) {
            const auto t = mn::time_steps(o, time_steps);
            std::printf("%s: %.3f s per training step (CPU %.3f s; NFE %.1f forward, %.1f backward), %.3f s per "
                        "inference batch (CPU %.3f s; NFE %.1f); %.0f training images/s\n",
                        model.c_str(), t.train_seconds, t.train_cpu_seconds, t.nfe_forward, t.nfe_backward,
                        t.inference_seconds, t.inference_cpu_seconds, t.nfe_inference,
                        double(o.batch_size) / t.train_seconds);
            return 0;
        }
        if (!eval_only.empty()) {
            const auto rows = mn::tolerance_sweep(o, eval_only, tolerances);
            std::printf("\n| tol | test accuracy | NFE per batch | seconds | images/s |\n| --- | --- | --- | --- | --- |\n");
            for (const auto& r : rows) {
                std::printf("| %g | %.2f%% | %.1f | %.1f | %.0f |\n", r.tol, 100.0 * r.result.accuracy, r.result.nfe,
                            r.result.seconds, double(r.result.n) / r.result.seconds);
            }
            return 0;
        }
        report_training(o, model);
    } catch (const odenet::Error& e) {  // its message starts with where it came from
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mnist: %s\n", e.what());
        return 1;
    }
    return 0;
}
