#pragma once
// The MNIST training loop of the Neural ODE paper's supervised experiment: data, one SGD step,
// evaluation on the test set, the epoch loop with progress bar, CSV log, plots and checkpoints,
// and the test-time tolerance sweep.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "odenet/mnist/models.hpp"
#include "odenet/mnist/ranks.hpp"
#include "odenet/core/random.hpp"
#include "odenet/optim/optimizer.hpp"

namespace odenet::mnist {

struct Dataset {
    Tensor<float> images;               ///< (N, 1, 28, 28), pixel / 255
    std::vector<std::size_t> labels;    ///< N labels in [0, 10)
    std::size_t size() const { return labels.size(); }
};

/// The folder under data_root holding `dataset` ("mnist" -> mnist, "fashion" -> fashion-mnist).
std::string dataset_dir(const std::string& data_root, const std::string& dataset);
/// Loads the training or test split (IDX, plain or .gz), keeping the first `limit` examples
/// (0 = all). A missing file is an IOError that says to run scripts/fetch-mnist.
Dataset load_split(const std::string& data_root, const std::string& dataset, bool train, std::size_t limit = 0);
/// n 28x28 images of 10 easily told apart synthetic "digits" (a class-dependent stroke plus
/// noise): what CI trains on, as it never downloads data.
Dataset synthetic_digits(std::size_t n, std::uint64_t seed);

/// images[order[begin..end)] as one (B, 1, 28, 28) batch; with a generator, each image is randomly
/// cropped as torchvision's RandomCrop(28, padding=4) (shifted by -4..4 pixels, zeros outside).
Tensor<float> gather_images(const Dataset& data, const std::vector<std::size_t>& order, std::size_t begin,
                            std::size_t end, Generator* crop = nullptr);
std::vector<std::size_t> gather_labels(const Dataset& data, const std::vector<std::size_t>& order, std::size_t begin,
                                       std::size_t end);

/// Moves the last `n` examples of `train` into the returned validation set, so that choices such
/// as the schedule can be made without looking at the test set. A ValueError when n would leave
/// fewer than one training example.
Dataset split_validation(Dataset& train, std::size_t n);

/// A training step that produced a non-finite loss, gradient or parameter: the run stops (see
/// train), and nothing from that step is saved.
class DivergenceError : public ValueError {
public:
    using ValueError::ValueError;
};

struct StepResult {
    double loss = 0;
    std::size_t correct = 0;
    std::size_t nfe_forward = 0, nfe_backward = 0;
    double seconds = 0;
};
/// One SGD step: forward, cross-entropy, backward, optimizer step. Throws DivergenceError
/// ("the loss became nan", "the gradient of '7.weight' holds inf at ...") before the step when the
/// loss or a gradient is non-finite, and after it when a parameter became non-finite.
/// With `ranks`, the gradient is the global batch's (Ranks::backward), and this rank's batch may be
/// empty (a short last step): it then only takes part in the averaging and the update.
StepResult train_step(Classifier& model, optim::Optimizer& optimizer, const Tensor<float>& images,
                      const std::vector<std::size_t>& labels, Ranks* ranks = nullptr);

struct EvalResult {
    double accuracy = 0;  ///< in [0, 1]
    double loss = 0;      ///< mean cross-entropy
    double nfe = 0;       ///< mean forward NFE per batch
    double seconds = 0;
    std::size_t n = 0;
};
/// Accuracy over the whole dataset without recording a graph. With `ranks`, each rank evaluates a
/// contiguous slice of it and the results are summed (every rank returns the whole set's).
EvalResult evaluate(Classifier& model, const Dataset& data, std::size_t batch_size, bool progress = false,
                    Ranks* ranks = nullptr);

/// The most epochs a run may ask for (--epochs) or a checkpoint may record (epochs_done).
inline constexpr long kMaxEpochs = 100000;

struct TrainOptions {
    std::string dataset = "mnist";
    std::string data_root = "data/cache";
    ModelKind model = ModelKind::odenet;
    std::size_t epochs = 1;       ///< total epochs to reach (a resumed run continues up to it)
    std::size_t batch_size = 128;
    double lr = 0.1;              ///< scaled by batch_size / 128, as the reference
    /// "paper": x0.1 at epochs 60, 100, 140; "scaled": x0.1 at 3/8, 5/8 and 7/8 of the run's
    /// steps (the paper's fractions of 160 epochs, for a run of any length); "late": x0.1 once,
    /// for the last fifth of the run.
    std::string schedule = "paper";
    std::size_t warmup_steps = 0;  ///< lr rises linearly from a tenth over these first steps (warmup_factor)
    double tol = 1e-3;
    bool crop = false;            ///< RandomCrop(28, padding=4) augmentation
    std::size_t limit_train = 0, limit_test = 0;  ///< 0 = all
    std::size_t validation = 0;   ///< hold out the last N training images and evaluate on them, not the test set
    std::uint64_t seed = 0;
    std::string out = "out/mnist";
    bool resume = false;          ///< continue the run in `out` (its checkpoint and log)
    bool overwrite = false;       ///< replace the run in `out`; without it or resume, an occupied `out` is refused
    bool synthetic = false;       ///< train and test on synthetic_digits (no files needed)
    std::size_t max_steps = 0;    ///< stop each epoch after this many steps (0 = all)
    /// --distributed: this process's place among the ranks (null: one process). batch_size is
    /// then per rank, the global batch batch_size × ranks, and lr is scaled by global batch / 128.
    Ranks* ranks = nullptr;
};

/// The learning rate of step `step` (0-based, counted over all epochs) of a run of `epochs`
/// epochs of `steps_per_epoch` steps; `base` is the rate before any decay.
double scheduled_lr(double base, const std::string& schedule, std::size_t epochs, std::size_t steps_per_epoch,
                    std::size_t step);

/// The factor on the scheduled rate at step `step` (0-based, over all epochs) with a linear
/// warm-up of `warmup_steps`: 0.1 at step 0, rising linearly to 1 at `warmup_steps`.
double warmup_factor(std::size_t step, std::size_t warmup_steps);

/// What a finished run reports (for tests and the closing summary).
struct TrainSummary {
    std::size_t parameters = 0;
    std::vector<double> train_loss;  ///< per epoch run in this call
    std::vector<double> step_losses; ///< every step's loss in this call
    EvalResult last_test;
    double last_epoch_seconds = 0;
};

/// The files train() writes into TrainOptions::out.
const std::vector<std::string>& run_outputs();

/// Refuses a checkpoint before anything is loaded from it: IOError naming the file and the entry
/// when epochs_done is not a whole number in [0, kMaxEpochs] or any entry (model or optimizer)
/// holds NaN or Inf (the checkpoint of a diverged run).
void check_checkpoint(const std::string& path);

/// Trains and evaluates as the paper: SGD(momentum 0.9), lr · batch/128 decayed x0.1 three times
/// (TrainOptions::schedule); checkpoint `out/checkpoint.npz` (model, optimizer, epochs done) written atomically
/// after every epoch, `out/log.csv` and `out/{loss,accuracy,nfe}.png`.
/// The folder is prepared first (examples::prepare_run_folder): an occupied one is refused unless
/// resume or overwrite. A divergence (DivergenceError from train_step) or a failed solve stops the
/// run with a DivergenceError naming the epoch and step; the last checkpoint on disk is left as it was.
TrainSummary train(const TrainOptions& options);

struct ToleranceRow {
    double tol;
    EvalResult result;
};
/// Loads `checkpoint` into a model of `kind`, then evaluates the test set at each tolerance.
std::vector<ToleranceRow> tolerance_sweep(const TrainOptions& options, const std::string& checkpoint,
                                          const std::vector<double>& tolerances);

struct StepTiming {
    double train_seconds = 0;      ///< mean over the timed steps (after one warm-up step)
    double train_cpu_seconds = 0;  ///< process CPU time per step (all threads): robust to a loaded machine
    double inference_cpu_seconds = 0;
    double inference_seconds = 0;  ///< mean forward pass without a graph, same batch
    double nfe_forward = 0, nfe_backward = 0, nfe_inference = 0;
};
/// Times `steps` training steps and as many inference batches of options.batch_size images
/// (real data when present, synthetic digits otherwise), after one untimed warm-up step.
StepTiming time_steps(const TrainOptions& options, std::size_t steps);

}  // namespace odenet::mnist
