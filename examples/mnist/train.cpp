#include "odenet/mnist/train.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <ctime>
#include <optional>

#include "odenet/examples/finite_checks.hpp"
#include "odenet/examples/run_folder.hpp"
#include "odenet/nn.hpp"
#include "odenet/util/csv_log.hpp"
#include "odenet/util/progress.hpp"

#include "run_log.hpp"

namespace odenet::mnist {

namespace fs = std::filesystem;
namespace util = odenet::util;

namespace {

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string number_name(double x) { return std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf"; }

std::size_t count_correct(const Var& logits, const std::vector<std::size_t>& labels) {
    const Tensor<float>& z = logits.value<float>();
    const std::size_t k = z.shape()[1];
    std::size_t correct = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const float* row = z.data() + i * k;
        correct += static_cast<std::size_t>(std::max_element(row, row + k) - row) == labels[i];
    }
    return correct;
}

}  // namespace

StepResult train_step(Classifier& model, optim::Optimizer& optimizer, const Tensor<float>& images,
                      const std::vector<std::size_t>& labels, Ranks* ranks) {
    const auto t0 = std::chrono::steady_clock::now();
    StepResult r;
    Var logits, loss;
    if (!labels.empty()) {
        logits = model(Var(images));
        r.nfe_forward = model.last_nfe();
        loss = nn::functional::cross_entropy(logits, labels);
        r.loss = loss.item();
        if (!std::isfinite(r.loss)) throw DivergenceError("train_step", "the loss became " + number_name(r.loss));
    }
    optimizer.zero_grad();
    if (ranks) {
        ranks->backward(loss, labels.size());
    } else {
        backward(loss);
    }
    // The optimizer refuses a non-finite gradient too, but by index; this names the parameter.
    const auto named = model.named_parameters();
    if (auto bad = examples::first_nonfinite_grad(named)) throw DivergenceError("train_step", "the gradient of " + *bad);
    optimizer.step();
    if (auto bad = examples::first_nonfinite_value(named)) {
        throw DivergenceError("train_step", "after the optimizer step, parameter " + *bad);
    }
    if (!labels.empty()) {
        r.nfe_backward = model.last_backward_nfe();
        r.correct = count_correct(logits, labels);
    }
    r.seconds = seconds_since(t0);
    return r;
}

EvalResult evaluate(Classifier& model, const Dataset& data, std::size_t batch_size, bool progress, Ranks* ranks) {
    const auto t0 = std::chrono::steady_clock::now();
    NoGradGuard no_grad;
    model.eval();
    EvalResult r;
    // With ranks, this rank's contiguous slice [lo, hi) of the set; otherwise all of it.
    const std::size_t n_ranks = ranks ? std::size_t(ranks->size()) : 1, rank = ranks ? std::size_t(ranks->rank()) : 0;
    const std::size_t lo = rank * data.size() / n_ranks, hi = (rank + 1) * data.size() / n_ranks;
    std::vector<std::size_t> order(hi - lo);
    std::iota(order.begin(), order.end(), lo);
    const std::size_t batches = (order.size() + batch_size - 1) / batch_size;
    std::unique_ptr<util::ProgressBar> bar;
    if (progress && (!ranks || ranks->is_root())) bar = std::make_unique<util::ProgressBar>(batches, "test");
    std::size_t correct = 0;
    double loss_sum = 0, nfe_sum = 0;
    for (std::size_t i = 0; i < batches; ++i) {
        const std::size_t begin = i * batch_size, end = std::min(order.size(), begin + batch_size);
        const auto labels = gather_labels(data, order, begin, end);
        Var logits = model(Var(gather_images(data, order, begin, end)));
        correct += count_correct(logits, labels);
        loss_sum += nn::functional::cross_entropy(logits, labels).item() * double(end - begin);
        nfe_sum += double(model.last_nfe());
        if (bar) bar->update(i + 1, {{"acc", double(correct) / double(end)}, {"nfe", model.last_nfe()}});
    }
    if (bar) bar->finish();
    model.train();
    double done_batches = double(batches);
    if (ranks) {
        const auto total = ranks->sum({double(correct), loss_sum, nfe_sum, done_batches});
        correct = std::size_t(total[0]);
        loss_sum = total[1];
        nfe_sum = total[2];
        done_batches = total[3];
    }
    r.n = data.size();
    r.accuracy = r.n ? double(correct) / double(r.n) : 0.0;
    r.loss = r.n ? loss_sum / double(r.n) : 0.0;
    r.nfe = done_batches > 0 ? nfe_sum / done_batches : 0.0;
    r.seconds = seconds_since(t0);
    return r;
}

namespace {

std::unique_ptr<Classifier> build(const TrainOptions& o) {
    manual_seed(o.seed);
    return std::make_unique<Classifier>(ModelOptions{.kind = o.model, .tol = o.tol});
}

}  // namespace

// Note [Log and checkpoint]
// Each epoch appends its row to log.csv first and only then saves checkpoint.npz (atomically), so
// a crash between the two leaves the log one row ahead of the checkpoint, never behind it.
// --resume first drops the log's rows past the checkpoint's epochs_done (rewriting log.csv
// atomically), so a resumed log is the checkpoint's history followed by the new epochs.

namespace {

const std::vector<std::string> kOutputs = {"checkpoint.npz", "log.csv", "loss.png", "accuracy.png", "nfe.png"};

// The shortest text that reads back as x ("-5", "2.5", "1e+30", "nan").
std::string number_str(double x) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, ec == std::errc() ? end : buf);
}

// Drops the rows of epochs past `epochs_done` from the log; returns how many (see Note [Log and checkpoint]).
std::size_t truncate_log(const std::string& path, long epochs_done) {
    if (!fs::exists(path)) return 0;
    std::istringstream in(nn::read_file(path));
    std::string kept, line;
    std::size_t dropped = 0;
    if (std::getline(in, line)) kept += line + "\n";
    while (std::getline(in, line)) {
        if (std::strtod(line.c_str(), nullptr) <= double(epochs_done)) {
            kept += line + "\n";
        } else {
            ++dropped;
        }
    }
    if (dropped > 0) nn::write_file_atomic(path, kept);
    return dropped;
}

// Loads a checked checkpoint into the model and optimizer and cuts the log back to its epoch.
// Only `root` (rank 0 of a distributed run) touches the log and prints.
void resume_from(Classifier& model, optim::Optimizer& optimizer, const std::string& ckpt, const std::string& log_path,
                 bool root) {
    nn::load(model, optimizer, ckpt);
    if (!root) return;
    if (const std::size_t dropped = truncate_log(log_path, model.epochs_done())) {
        std::printf("dropped %zu row(s) of %s past the checkpoint's %ld epochs (a save interrupted after its log row)\n",
                    dropped, log_path.c_str(), model.epochs_done());
    }
    std::printf("resumed from %s after %ld epochs\n", ckpt.c_str(), model.epochs_done());
}

// What a stopped run leaves on disk: the clause that ends its error message.
std::string kept_clause(const std::string& ckpt, long saved_epochs) {
    if (saved_epochs < 0) return "; no checkpoint was saved (no epoch had finished)";
    return "; the last good checkpoint ('" + ckpt + "', epoch " + std::to_string(saved_epochs) + ") is kept";
}

// The training and test sets (the test set: a validation split with --validation); never empty.
std::pair<Dataset, Dataset> load_data(const TrainOptions& o) {
    Dataset train_set, test_set;
    if (o.synthetic) {
        train_set = synthetic_digits(o.limit_train ? o.limit_train : 1024, o.seed + 1);
        test_set = synthetic_digits(o.limit_test ? o.limit_test : 256, o.seed + 2);
    } else {
        train_set = load_split(o.data_root, o.dataset, true, o.limit_train);
        test_set = load_split(o.data_root, o.dataset, false, o.limit_test);
    }
    if (o.validation > 0) {
        test_set = split_validation(train_set, o.validation);
        std::printf("validation: the last %zu training images stand in for the test set below\n", test_set.size());
    }
    if (train_set.size() == 0 || test_set.size() == 0) {
        throw ValueError("mnist", std::string("the ") + (train_set.size() == 0 ? "training" : "test") +
                                      " set is empty: nothing to train on or evaluate");
    }
    return {std::move(train_set), std::move(test_set)};
}

struct EpochStats {
    double loss_sum = 0, nfe_f = 0, nfe_b = 0, seconds = 0;
    std::size_t correct = 0, seen = 0;
};

// The SGD steps of one epoch. A failed step stops the run with an error naming the epoch and the
// step, ending in `kept` (what is still on disk). With ranks, each takes its shard of every global
// batch, and the epoch's figures are the sums over ranks (one small all-reduce per step).
EpochStats run_epoch(Classifier& model, optim::SGD& optimizer, const Dataset& train_set, const TrainOptions& o,
                     std::size_t epoch, std::size_t steps_per_epoch, double base_lr, const std::string& kept,
                     TrainSummary& summary) {
    // The reference's DataLoader: shuffled each epoch, last partial batch kept. One generator per
    // epoch, so a resumed run sees the same order and crops as an uninterrupted one. Ranks draw
    // the same permutation (Ranks::shard) and crop with a generator of their own.
    Generator shuffle_gen(o.seed + 1000 * epoch);
    std::vector<std::size_t> order;  // the epoch's permutation; with ranks, this rank's batch of the step
    if (!o.ranks) {
        order.resize(train_set.size());
        std::iota(order.begin(), order.end(), 0);
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_gen.below(i)]);
    }
    Generator rank_crop_gen(o.seed + 1000 * epoch + 500 + std::uint64_t(o.ranks ? o.ranks->rank() : 0));
    Generator* crop = !o.crop ? nullptr : o.ranks ? &rank_crop_gen : &shuffle_gen;

    const bool root = !o.ranks || o.ranks->is_root();
    std::unique_ptr<util::ProgressBar> bar;
    if (root) {
        bar = std::make_unique<util::ProgressBar>(steps_per_epoch,
                                                  "epoch " + std::to_string(epoch) + "/" + std::to_string(o.epochs));
    }
    const auto t0 = std::chrono::steady_clock::now();
    EpochStats st;
    for (std::size_t step = 0; step < steps_per_epoch; ++step) {
        std::size_t begin = step * o.batch_size, end = std::min(train_set.size(), begin + o.batch_size);
        if (o.ranks) {
            order = o.ranks->batch(epoch, step);
            begin = 0;
            end = order.size();
        }
        const Tensor<float> images = gather_images(train_set, order, begin, end, crop);
        const std::size_t global_step = (epoch - 1) * steps_per_epoch + step;
        optimizer.set_lr(warmup_factor(global_step, o.warmup_steps) *
                         scheduled_lr(base_lr, o.schedule, o.epochs, steps_per_epoch, global_step));
        const std::string where = " at epoch " + std::to_string(epoch) + ", step " + std::to_string(step + 1) + " of " +
                                  std::to_string(steps_per_epoch);
        StepResult r;
        try {
            r = train_step(model, optimizer, images, gather_labels(train_set, order, begin, end), o.ranks);
        } catch (const DivergenceError& e) {
            throw DivergenceError("mnist", e.message() + where + kept);
        } catch (const Error& e) {
            throw ValueError("mnist", std::string("training failed") + where + " (" + e.what() + ")" + kept);
        }
        // This step over all ranks: loss sum, correct, examples, NFE forward and backward.
        std::vector<double> step_sums = {r.loss * double(end - begin), double(r.correct), double(end - begin),
                                         double(r.nfe_forward), double(r.nfe_backward)};
        if (o.ranks) step_sums = o.ranks->sum(std::move(step_sums));
        const double ranks = o.ranks ? double(o.ranks->size()) : 1.0;
        summary.step_losses.push_back(step_sums[0] / step_sums[2]);
        st.loss_sum += step_sums[0];
        st.correct += std::size_t(step_sums[1]);
        st.seen += std::size_t(step_sums[2]);
        st.nfe_f += step_sums[3] / ranks;
        st.nfe_b += step_sums[4] / ranks;
        if (bar) {
            bar->update(step + 1, {{"loss", st.loss_sum / double(st.seen)},
                                   {"acc", double(st.correct) / double(st.seen)},
                                   {"nfe_f", r.nfe_forward},
                                   {"nfe_b", r.nfe_backward},
                                   {"img/s", double(st.seen) / seconds_since(t0)}});
        }
    }
    if (bar) bar->finish();
    st.seconds = seconds_since(t0);
    return st;
}

}  // namespace

const std::vector<std::string>& run_outputs() { return kOutputs; }

void check_checkpoint(const std::string& path) {
    const nn::NamedValues entries = nn::load_npz(path);
    for (const auto& [name, v] : entries) {
        if (name != "epochs_done") continue;
        if (v.size() != 1) throw IOError("mnist", path, "epochs_done holds " + std::to_string(v.size()) + " values, not one");
        const double e = v.visit([](const auto& t) { return double(t.data()[0]); });
        if (!(e >= 0 && e <= double(kMaxEpochs) && e == std::floor(e))) {
            throw IOError("mnist", path, "epochs_done is " + number_str(e) + "; it must be a whole number in [0, " +
                                             std::to_string(kMaxEpochs) + "]");
        }
    }
    if (auto bad = examples::first_nonfinite_entry(entries)) {
        throw IOError("mnist", path, "entry " + *bad + "; a checkpoint holding NaN or Inf (a diverged run) is refused");
    }
}

TrainSummary train(const TrainOptions& o) {
    if (o.batch_size == 0) throw ValueError("mnist", "--batch-size must be >= 1");
    if (o.epochs == 0 || o.epochs > std::size_t(kMaxEpochs)) {
        throw ValueError("mnist", "--epochs must be in [1, " + std::to_string(kMaxEpochs) + "]");
    }
    // With ranks, rank 0 alone prints and writes (folder, log, plots, checkpoint); every rank
    // reads the checkpoint on --resume. A rank's error ends the job (distributed::run_ranks).
    const bool root = !o.ranks || o.ranks->is_root();
    const std::string ckpt = o.out + "/checkpoint.npz", log_path = o.out + "/log.csv";
    if (o.resume) {  // before the folder is touched, and before data loading and training
        if (!fs::exists(ckpt)) {
            throw IOError("mnist", ckpt, "no checkpoint to resume from (--overwrite starts the run in this folder afresh)");
        }
        check_checkpoint(ckpt);
    }
    if (root) {
        examples::prepare_run_folder({.program = "mnist", .path = o.out, .outputs = kOutputs, .resume = o.resume,
                                      .overwrite = o.overwrite, .can_resume = true});
    }
    const auto [train_set, test_set] = load_data(o);
    auto model = build(o);
    TrainSummary summary;
    summary.parameters = model->parameter_count();
    const std::size_t ranks = o.ranks ? std::size_t(o.ranks->size()) : 1, global_batch = o.batch_size * ranks;
    const double base_lr = o.lr * double(global_batch) / 128.0;
    if (root) {
        const std::string batch = o.ranks ? std::to_string(o.batch_size) + " per rank x " + std::to_string(ranks) +
                                                (ranks == 1 ? " rank = " : " ranks = ") + std::to_string(global_batch)
                                          : std::to_string(o.batch_size);
        std::printf("model %s: %zu parameters; %s %zu train / %zu test images; batch %s, lr %g, tol %g%s\n",
                    model_name(o.model), summary.parameters, o.synthetic ? "synthetic" : o.dataset.c_str(),
                    train_set.size(), test_set.size(), batch.c_str(), base_lr, o.tol, o.crop ? ", random crop" : "");
    }

    optim::SGD optimizer(model->parameters(), {.lr = base_lr, .momentum = 0.9});
    if (o.resume) resume_from(*model, optimizer, ckpt, log_path, root);
    if (o.ranks) o.ranks->attach(*model);
    long saved_epochs = o.resume ? model->epochs_done() : -1;  // what checkpoint.npz holds; -1: none
    auto rows = o.resume && root ? read_log(log_path) : std::vector<std::vector<double>>{};
    std::optional<util::CsvLog> log;
    if (root) log.emplace(log_path, log_columns(), /*append=*/o.resume && fs::exists(log_path));

    std::size_t steps_per_epoch = (train_set.size() + o.batch_size - 1) / o.batch_size;
    if (o.ranks) {
        o.ranks->shard(train_set.size(), o.batch_size, o.seed);
        steps_per_epoch = o.ranks->steps_per_epoch();
    }
    steps_per_epoch = std::min(steps_per_epoch, o.max_steps ? o.max_steps : SIZE_MAX);
    for (std::size_t epoch = std::size_t(model->epochs_done()) + 1; epoch <= o.epochs; ++epoch) {
        const std::string kept = kept_clause(ckpt, saved_epochs);
        const EpochStats st =
            run_epoch(*model, optimizer, train_set, o, epoch, steps_per_epoch, base_lr, kept, summary);
        EvalResult test;
        try {
            test = evaluate(*model, test_set, std::max<std::size_t>(o.batch_size, 128), true, o.ranks);
        } catch (const Error& e) {
            throw ValueError("mnist", "the test evaluation after epoch " + std::to_string(epoch) + " failed (" +
                                          e.what() + ")" + kept);
        }
        // Weights blown up to huge but finite values pass the step's checks; their test loss does not.
        if (!std::isfinite(test.loss)) {
            throw DivergenceError("mnist", "the test loss became " + number_name(test.loss) + " after epoch " +
                                               std::to_string(epoch) + kept);
        }
        const double steps = double(steps_per_epoch), seen = double(st.seen);
        std::vector<double> row = {double(epoch),      optimizer.lr(),         st.loss_sum / seen,
                                   double(st.correct) / seen, test.loss,       test.accuracy,
                                   st.nfe_f / steps,   st.nfe_b / steps,       test.nfe,
                                   st.seconds,         seen / st.seconds,      test.seconds};
        if (root) log->row(row);  // before the checkpoint: see Note [Log and checkpoint]
        model->set_epochs_done(long(epoch));
        if (auto bad = examples::first_nonfinite_entry(nn::state_dict(*model))) {  // never a NaN checkpoint
            throw DivergenceError("mnist", "after epoch " + std::to_string(epoch) + ", " + *bad + kept);
        }
        if (root) {
            nn::save(*model, optimizer, ckpt);
            rows.push_back(row);
            draw_plots(rows, o.out);
            std::printf("epoch %zu: train loss %.4f acc %.2f%% | test loss %.4f acc %.2f%% (%zu images) | NFE fwd %.1f "
                        "bwd %.1f test %.1f | %.1f s (%.0f img/s), test %.1f s\n",
                        epoch, st.loss_sum / seen, 100.0 * double(st.correct) / seen, test.loss,
                        100.0 * test.accuracy, test.n, st.nfe_f / steps, st.nfe_b / steps, test.nfe, st.seconds,
                        seen / st.seconds, test.seconds);
            std::fflush(stdout);
        }
        saved_epochs = long(epoch);
        summary.train_loss.push_back(st.loss_sum / seen);
        summary.last_test = test;
        summary.last_epoch_seconds = st.seconds;
    }
    return summary;
}

std::vector<ToleranceRow> tolerance_sweep(const TrainOptions& o, const std::string& checkpoint,
                                          const std::vector<double>& tolerances) {
    check_checkpoint(checkpoint);
    const Dataset test_set = o.synthetic ? synthetic_digits(o.limit_test ? o.limit_test : 256, o.seed + 2)
                                         : load_split(o.data_root, o.dataset, false, o.limit_test);
    auto model = build(o);
    nn::load(*model, checkpoint);
    std::printf("model %s: %zu parameters, %ld epochs trained, from %s; %zu test images\n", model_name(o.model),
                model->parameter_count(), model->epochs_done(), checkpoint.c_str(), test_set.size());
    std::vector<ToleranceRow> rows;
    for (double tol : tolerances) {
        model->set_tolerance(tol);
        rows.push_back({tol, evaluate(*model, test_set, o.batch_size, true)});
    }
    return rows;
}

StepTiming time_steps(const TrainOptions& o, std::size_t steps) {
    if (o.batch_size == 0 || steps == 0) throw ValueError("mnist", "--time-steps and --batch-size must be >= 1");
    Dataset data;
    // At most one training set's worth of images, reused in turn: steps x batch can be far more.
    constexpr std::size_t kMaxImages = 60000;
    const std::size_t n = std::min(kMaxImages, o.batch_size * (steps + 1));
    // Missing files are an error naming them, as in training: a timing of synthetic digits that
    // the user did not ask for (--synthetic) would be a silently different measurement.
    const bool real = !o.synthetic;
    data = real ? load_split(o.data_root, o.dataset, true, n) : synthetic_digits(n, o.seed);
    auto model = build(o);
    optim::SGD optimizer(model->parameters(), {.lr = o.lr * double(o.batch_size) / 128.0, .momentum = 0.9});
    // Step s's batch: images s·B .. s·B + B - 1, modulo the n images held.
    std::vector<std::size_t> order(o.batch_size);
    auto batch_order = [&](std::size_t s) -> const std::vector<std::size_t>& {
        for (std::size_t j = 0; j < o.batch_size; ++j) order[j] = (s * o.batch_size + j) % n;
        return order;
    };
    StepTiming t;
    std::printf("timing %s, batch %zu, %s data, %zu steps after a warm-up\n", model_name(o.model), o.batch_size,
                real ? "real" : "synthetic", steps);
    for (std::size_t s = 0; s <= steps; ++s) {
        const Tensor<float> images = gather_images(data, batch_order(s), 0, o.batch_size);
        const auto labels = gather_labels(data, order, 0, o.batch_size);
        const double c0 = cpu_seconds();
        const StepResult r = train_step(*model, optimizer, images, labels);
        const double cpu = cpu_seconds() - c0;
        std::printf("  step %zu: %.3f s (CPU %.3f s), loss %.4f, NFE %zu / %zu\n", s, r.seconds, cpu, r.loss,
                    r.nfe_forward, r.nfe_backward);
        if (s == 0) continue;
        t.train_cpu_seconds += cpu / double(steps);
        t.train_seconds += r.seconds / double(steps);
        t.nfe_forward += double(r.nfe_forward) / double(steps);
        t.nfe_backward += double(r.nfe_backward) / double(steps);
    }
    NoGradGuard no_grad;
    model->eval();
    for (std::size_t s = 0; s <= steps; ++s) {
        const Tensor<float> images = gather_images(data, batch_order(s), 0, o.batch_size);
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = cpu_seconds();
        Var logits = (*model)(Var(images));
        const double sec = seconds_since(t0);
        if (s == 0) continue;
        t.inference_cpu_seconds += (cpu_seconds() - c0) / double(steps);
        t.inference_seconds += sec / double(steps);
        t.nfe_inference += double(model->last_nfe()) / double(steps);
    }
    return t;
}

}  // namespace odenet::mnist
