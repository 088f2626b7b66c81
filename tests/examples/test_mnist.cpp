// The MNIST example's CI smoke test: the three models of the Neural ODE paper's Table 1 have the
// reference's parameter counts, and a few SGD steps on a few hundred synthetic digits (CI never
// downloads data) lower the loss; checkpoint, resume and the tolerance sweep work end to end.
// Built only when examples/mnist is (tests/CMakeLists.txt adds this suite under
// ODENET_BUILD_EXAMPLES), and then unconditionally: a missing header is a build error.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include "odenet/mnist/train.hpp"
#include "odenet/nn/npz.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::mnist;

namespace {

double mean_of(const std::vector<double>& v, std::size_t begin, std::size_t end) {
    return std::accumulate(v.begin() + long(begin), v.begin() + long(end), 0.0) / double(end - begin);
}

// Whether two saved values are equal bit for bit (same dtype, shape and elements).
bool same_values(const Value& a, const Value& b) {
    if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
    return a.visit([&](const auto& x) {
        const auto& y = b.as<typename std::decay_t<decltype(x)>::value_type>();
        return std::equal(x.begin(), x.end(), y.begin());
    });
}

// log.csv without its timing columns (epoch_seconds, img/s, test_seconds: the last three).
std::vector<std::string> log_rows(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> rows;
    for (std::string line; std::getline(in, line);) {
        for (int drop = 0; drop < 3; ++drop) line = line.substr(0, line.rfind(','));
        rows.push_back(line);
    }
    return rows;
}

std::size_t lines(const std::string& path) {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
}

}  // namespace

TEST_CASE("mnist: parameter counts match the reference architecture (torchdiffeq odenet_mnist.py)") {
    // downsampling 132,096 + head 778 + ODEFunc 75,392 (two ConcatConv2d 65->64 3x3 with bias,
    // three GroupNorms) or six ResBlocks of 73,984 (two bias-free 64->64 3x3 convs, two GroupNorms).
    CHECK(Classifier({.kind = ModelKind::odenet}).parameter_count() == 208266);
    CHECK(Classifier({.kind = ModelKind::rknet}).parameter_count() == 208266);
    CHECK(Classifier({.kind = ModelKind::resnet}).parameter_count() == 576778);
    Classifier m({.kind = ModelKind::odenet});
    const auto names = m.named_parameters();
    CHECK(names.front().first == "0.weight");
    CHECK(names.back().first == "12.bias");  // Linear(64, 10), as PyTorch's nn.Sequential names it
    CHECK(m.ode_block() != nullptr);
    CHECK(Classifier({.kind = ModelKind::resnet}).ode_block() == nullptr);
    CHECK_THROWS_AS(model_from_name("densenet"), ValueError);
}

TEST_CASE("mnist: forward shape, dtype and NFE") {
    manual_seed(0);
    Classifier m({.kind = ModelKind::odenet});
    const Dataset d = synthetic_digits(8, 1);
    std::vector<std::size_t> order(8);
    std::iota(order.begin(), order.end(), 0);
    Var logits = m(Var(gather_images(d, order, 0, 8)));
    CHECK(logits.shape() == Shape{8, 10});
    CHECK(logits.dtype() == Dtype::float32);
    CHECK(m.last_nfe() >= 8);  // dopri5: at least one step of 6 evaluations plus the initial ones
}

TEST_CASE("mnist: split_validation holds out the last examples, unchanged and in order") {
    Dataset d = synthetic_digits(10, 4);
    const Dataset whole = synthetic_digits(10, 4);
    const Dataset held = split_validation(d, 3);
    REQUIRE(d.size() == 7);
    REQUIRE(held.size() == 3);
    CHECK(d.images.shape() == Shape{7, 1, 28, 28});
    CHECK(held.images.shape() == Shape{3, 1, 28, 28});
    for (std::size_t i = 0; i < 10; ++i) {
        const Dataset& part = i < 7 ? d : held;
        const std::size_t j = i < 7 ? i : i - 7;
        CHECK(part.labels[j] == whole.labels[i]);
        CHECK(std::equal(part.images.data() + j * 784, part.images.data() + (j + 1) * 784, whole.images.data() + i * 784));
    }
    Dataset small = synthetic_digits(3, 4);
    CHECK_THROWS_WITH_AS(split_validation(small, 3), doctest::Contains("--validation 3 leaves no training images"),
                         odenet::ValueError);
}

TEST_CASE("mnist: train with --validation evaluates on the held-out training images") {
    test::TempDir dir;
    const TrainOptions o{.model = ModelKind::resnet, .epochs = 1, .batch_size = 32, .limit_train = 256,
                         .limit_test = 100, .validation = 48, .out = dir.file("validation"), .synthetic = true,
                         .max_steps = 1};
    const TrainSummary s = train(o);
    CHECK(s.last_test.n == 48);  // not the 100 test images
}

TEST_CASE("mnist: random crop shifts within 4 pixels and keeps the picture") {
    const Dataset d = synthetic_digits(1, 3);
    std::vector<std::size_t> order{0};
    Generator gen(5);
    for (int i = 0; i < 20; ++i) {
        const Tensor<float> c = gather_images(d, order, 0, 1, &gen);
        CHECK(c.shape() == Shape{1, 1, 28, 28});
        float bright = 0;
        for (std::size_t p = 0; p < c.size(); ++p) bright += c.data()[p] == 1.0f;
        CHECK(bright > 0);  // the 6x6 blob stays at least partly inside
    }
}

TEST_CASE("mnist: a few SGD steps lower the loss for each model, then checkpoint, resume and tolerance sweep work") {
    test::TempDir dir;
    for (ModelKind kind : {ModelKind::odenet, ModelKind::rknet, ModelKind::resnet}) {
        const std::string name = model_name(kind);
        CAPTURE(name);
        TrainOptions o{.model = kind, .epochs = 1, .batch_size = 32, .lr = 0.1, .limit_train = 256, .limit_test = 64,
                       .seed = 1, .out = dir.file(model_name(kind)), .synthetic = true};
        const TrainSummary s = train(o);
        REQUIRE(s.step_losses.size() == 8);
        MESSAGE(std::string(model_name(kind)) << " losses: first " << s.step_losses.front() << " last " << s.step_losses.back());
        CHECK(mean_of(s.step_losses, 5, 8) < mean_of(s.step_losses, 0, 3));
        CHECK(std::filesystem::exists(o.out + "/checkpoint.npz"));
        CHECK(std::filesystem::exists(o.out + "/loss.png"));
        CHECK(lines(o.out + "/log.csv") == 2);
        if (kind != ModelKind::odenet) continue;

        // Interrupted after one epoch and resumed to two must equal two epochs run straight through:
        // the same step losses, the same final parameters and optimizer state, the same log rows
        // (timings aside). Bitwise: both runs do the same float32 operations in the same order on
        // the same shapes (the shuffle is seeded per epoch, Generator(seed + 1000·epoch), and the
        // 'paper' schedule does not decay within two epochs, so the lr is the same whether the
        // first call was told 1 epoch or 2).
        o.epochs = 2;
        o.resume = true;
        const TrainSummary s2 = train(o);
        CHECK(s2.train_loss.size() == 1);
        CHECK(lines(o.out + "/log.csv") == 3);
        TrainOptions straight = o;
        straight.resume = false;
        straight.out = dir.file("odenet-straight");
        const TrainSummary full = train(straight);
        REQUIRE(full.step_losses.size() == 16);
        REQUIRE(s2.step_losses.size() == 8);
        for (std::size_t i = 0; i < 16; ++i) {
            CAPTURE(i);
            CHECK(full.step_losses[i] == (i < 8 ? s.step_losses[i] : s2.step_losses[i - 8]));
        }
        const nn::NamedValues resumed_state = nn::load_npz(o.out + "/checkpoint.npz");
        const nn::NamedValues straight_state = nn::load_npz(straight.out + "/checkpoint.npz");
        REQUIRE(resumed_state.size() == straight_state.size());
        for (std::size_t i = 0; i < resumed_state.size(); ++i) {
            const auto& [name, value] = resumed_state[i];
            CAPTURE(name);
            REQUIRE(straight_state[i].first == name);
            CHECK(same_values(value, straight_state[i].second));
        }
        const auto resumed_log = log_rows(o.out + "/log.csv"), straight_log = log_rows(straight.out + "/log.csv");
        REQUIRE(resumed_log.size() == 3);
        CHECK(resumed_log == straight_log);
        // Nothing left to do: no new rows.
        CHECK(train(o).train_loss.empty());

        const auto rows = tolerance_sweep(o, o.out + "/checkpoint.npz", {1e-1, 1e-3});
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].result.n == 64);
        CHECK(rows[0].result.nfe <= rows[1].result.nfe);  // looser tolerance, fewer evaluations
    }
}

TEST_CASE("mnist: missing data says how to fetch it") {
    try {
        load_split("/nonexistent", "mnist", true);
        FAIL("expected an IOError");
    } catch (const IOError& e) {
        CHECK(std::string(e.what()).find("scripts/fetch-mnist") != std::string::npos);
    }
}
TEST_CASE("mnist: learning-rate schedules decay x0.1 at the paper's points, scaled, or once late") {
    const double base = 0.1;
    // One epoch of 469 steps, scaled: decays at 3/8, 5/8, 7/8 of the run.
    CHECK(scheduled_lr(base, "scaled", 1, 469, 0) == doctest::Approx(0.1));
    CHECK(scheduled_lr(base, "scaled", 1, 469, 175) == doctest::Approx(0.1));
    CHECK(scheduled_lr(base, "scaled", 1, 469, 176) == doctest::Approx(0.01));
    CHECK(scheduled_lr(base, "scaled", 1, 469, 294) == doctest::Approx(0.001));
    CHECK(scheduled_lr(base, "scaled", 1, 469, 468) == doctest::Approx(1e-4));
    // With 160 epochs the scaled schedule is the paper's.
    for (std::size_t step : {0, 60 * 469 - 1, 60 * 469, 100 * 469, 140 * 469 - 1, 140 * 469}) {
        CAPTURE(step);
        CHECK(scheduled_lr(base, "scaled", 160, 469, step) == doctest::Approx(scheduled_lr(base, "paper", 160, 469, step)));
    }
    CHECK(scheduled_lr(base, "paper", 1, 469, 468) == doctest::Approx(0.1));  // a short run never decays
    // "late": x0.1 once, at four fifths of the run (step 375.2 of one epoch; epoch 5 of five).
    CHECK(scheduled_lr(base, "late", 1, 469, 375) == doctest::Approx(0.1));
    CHECK(scheduled_lr(base, "late", 1, 469, 376) == doctest::Approx(0.01));
    CHECK(scheduled_lr(base, "late", 1, 469, 468) == doctest::Approx(0.01));
    CHECK(scheduled_lr(base, "late", 5, 469, 4 * 469 - 1) == doctest::Approx(0.1));
    CHECK(scheduled_lr(base, "late", 5, 469, 4 * 469) == doctest::Approx(0.01));
    CHECK_THROWS_AS(scheduled_lr(base, "cosine", 1, 469, 0), ValueError);
    // Linear warm-up from a tenth; none with 0 steps.
    CHECK(warmup_factor(0, 200) == doctest::Approx(0.1));
    CHECK(warmup_factor(100, 200) == doctest::Approx(0.55));
    CHECK(warmup_factor(199, 200) == doctest::Approx(0.1 + 0.9 * 199 / 200.0));
    CHECK(warmup_factor(200, 200) == 1.0);
    CHECK(warmup_factor(0, 0) == 1.0);
}
