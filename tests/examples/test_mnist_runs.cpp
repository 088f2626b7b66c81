// The MNIST example's runs against data loss (issue 16): checkpoints with a bad epochs_done or
// non-finite entries are refused before anything is loaded from them, an occupied output folder
// is refused, --overwrite removes only the run's own files, stale temporaries of killed saves are
// found by their writer's process id, and a diverging run stops without touching its checkpoint.
// The command-line side (flags, exit codes, messages) is tests/examples/bad_input.sh.
#include <doctest/doctest.h>

#include <unistd.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "odenet/examples/run_folder.hpp"
#include "odenet/mnist/train.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::mnist;
namespace fs = std::filesystem;

namespace {

// One step of a ResNet on 32 synthetic digits: the smallest run that writes a checkpoint.
TrainOptions tiny_run(const std::string& out) {
    return {.model = ModelKind::resnet, .epochs = 1, .batch_size = 32, .limit_train = 32, .limit_test = 32,
            .out = out, .synthetic = true, .max_steps = 1};
}

// `path` with entry `name` replaced by f(copy of its tensor), written to `to`.
template <class T, class F>
void mutate(const std::string& path, const std::string& name, const std::string& to, F f) {
    nn::NamedValues entries = nn::load_npz(path);
    bool found = false;
    for (auto& [n, v] : entries) {
        if (n != name) continue;
        Tensor<T> t = v.template as<T>();
        f(t);
        v = Value(std::move(t));
        found = true;
    }
    REQUIRE(found);
    nn::save_npz(to, entries);
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

// A process id that has just ended (its child was reaped).
long ended_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    ::waitpid(pid, nullptr, 0);
    return long(pid);
}

}  // namespace

TEST_CASE("mnist: a checkpoint with a bad epochs_done or a NaN entry is refused, naming the file and the entry") {
    test::TempDir dir;
    const std::string good_run = dir.file("good");
    train(tiny_run(good_run));
    const std::string good = good_run + "/checkpoint.npz";
    CHECK_NOTHROW(check_checkpoint(good));

    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    struct Case {
        const char* what;
        double epochs;  // the epochs_done written (NaN entries: left at 1)
        const char* entry;
        const char* expected;
    };
    const Case cases[] = {
        {"negative epochs_done", -5, "epochs_done", "epochs_done is -5; it must be a whole number in [0, 100000]"},
        {"NaN epochs_done", nan, "epochs_done", "epochs_done is nan"},
        {"infinite epochs_done", inf, "epochs_done", "epochs_done is inf"},
        {"huge epochs_done", 1e30, "epochs_done", "epochs_done is 1e+30;"},
        {"fractional epochs_done", 2.5, "epochs_done", "epochs_done is 2.5;"},
        {"NaN parameter", 1, "0.weight", "entry '0.weight' holds nan at flat index 3"},
        {"NaN optimizer state", 1, "optimizer.lr", "entry 'optimizer.lr' holds nan"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        const std::string run = dir.file(std::string("bad-") + std::to_string(&c - cases));
        fs::create_directories(run);
        const std::string bad = run + "/checkpoint.npz";
        if (std::string(c.entry) == "epochs_done") {
            mutate<double>(good, "epochs_done", bad, [&](Tensor<double>& t) { t.data()[0] = c.epochs; });
        } else if (std::string(c.entry) == "0.weight") {
            mutate<float>(good, "0.weight", bad, [](Tensor<float>& t) { t.data()[3] = NAN; });
        } else {
            mutate<double>(good, c.entry, bad, [](Tensor<double>& t) { t.data()[0] = NAN; });
        }
        const std::string bytes = nn::read_file(bad);
        // What mnist --resume and mnist --eval-only print: the file, the entry, the value.
        for (int mode = 0; mode < 3; ++mode) {
            CAPTURE(mode);
            try {
                if (mode == 0) check_checkpoint(bad);
                if (mode == 1) (void)tolerance_sweep(tiny_run(run), bad, {1e-3});
                if (mode == 2) {
                    TrainOptions o = tiny_run(run);
                    o.epochs = 2;
                    o.resume = true;
                    (void)train(o);
                }
                FAIL_CHECK("the checkpoint was accepted");
            } catch (const IOError& e) {
                const std::string msg = e.what();
                CHECK(msg.find("'" + bad + "'") != std::string::npos);
                CHECK_MESSAGE(msg.find(c.expected) != std::string::npos, msg);
            }
        }
        CHECK(nn::read_file(bad) == bytes);  // refused, not rewritten
    }
}

TEST_CASE("mnist: a diverging run stops naming the epoch and step, and keeps its last checkpoint") {
    // Step 1 at lr 1e30 · 32/128 leaves huge but finite weights; step 2's loss is NaN.
    test::TempDir dir;
    TrainOptions o = tiny_run(dir.file("run"));
    o.limit_train = 64;
    o.max_steps = 2;
    train(o);
    const std::string ckpt = o.out + "/checkpoint.npz";
    const std::string bytes = nn::read_file(ckpt);
    o.epochs = 2;
    o.resume = true;
    o.lr = 1e30;
    const std::string expected = "at epoch 2, step 2 of 2; the last good checkpoint ('" + ckpt + "', epoch 1) is kept";
    CHECK_THROWS_WITH_AS(train(o), doctest::Contains(expected.c_str()), DivergenceError);
    CHECK(nn::read_file(ckpt) == bytes);
    CHECK_NOTHROW(check_checkpoint(ckpt));

    // An epoch of one step ends with those huge weights: the test loss is what shows it.
    o.max_steps = 1;
    CHECK_THROWS_WITH_AS(train(o), doctest::Contains("the test loss became"), DivergenceError);
    CHECK(nn::read_file(ckpt) == bytes);
}

TEST_CASE("run folder: an occupied folder is refused unchanged; --overwrite removes only the run's files") {
    test::TempDir dir;
    const std::string out = dir.file("run");
    const examples::RunFolder run{.program = "mnist", .path = out, .outputs = {"checkpoint.npz", "log.csv"},
                                  .can_resume = true};
    examples::prepare_run_folder(run);  // a new folder: created
    CHECK(fs::is_directory(out));
    CHECK(fs::is_empty(out));           // the write probe is gone
    examples::prepare_run_folder(run);  // still empty: fine

    touch(out + "/log.csv");
    touch(out + "/notes.txt");
    CHECK_THROWS_WITH_AS(examples::prepare_run_folder(run),
                         doctest::Contains("already holds files (log.csv, notes.txt); pass --resume to continue the "
                                           "run in it or --overwrite to replace it"),
                         IOError);
    CHECK(fs::exists(out + "/log.csv"));

    examples::RunFolder resume = run;
    resume.resume = true;
    CHECK_NOTHROW(examples::prepare_run_folder(resume));
    CHECK(fs::exists(out + "/log.csv"));

    examples::RunFolder overwrite = run;
    overwrite.overwrite = true;
    examples::prepare_run_folder(overwrite);
    CHECK(!fs::exists(out + "/log.csv"));
    CHECK(fs::exists(out + "/notes.txt"));  // not one of the run's files

    overwrite.resume = true;
    CHECK_THROWS_AS(examples::prepare_run_folder(overwrite), ValueError);
}

TEST_CASE("run folder: the temporaries of killed saves are removed, those of a live writer and other files kept") {
    test::TempDir dir;
    const fs::path out = dir.file("run");
    fs::create_directories(out);
    const std::string dead = std::to_string(ended_pid()), alive = std::to_string(::getppid());
    touch(out / ("checkpoint.npz.tmp-" + dead + "-0"));   // nn::write_file_atomic's name
    touch(out / ("loss.png.tmp." + dead));                // PngImage::save_png's name
    touch(out / ("checkpoint.npz.tmp-" + alive + "-3"));  // a save still running
    touch(out / ("notes.txt.tmp-" + dead + "-0"));        // not an output of this program
    touch(out / "checkpoint.npz.tmp-x-0");                // not a process id

    const std::vector<std::string> outputs = {"checkpoint.npz", "loss.png"};
    const auto stale = examples::stale_temporaries(out, outputs);
    REQUIRE(stale.size() == 2);
    CHECK(stale[0].filename() == "checkpoint.npz.tmp-" + dead + "-0");
    CHECK(stale[1].filename() == "loss.png.tmp." + dead);

    // Stale temporaries alone do not make the folder occupied; they are removed on start.
    fs::remove(out / ("checkpoint.npz.tmp-" + alive + "-3"));
    fs::remove(out / ("notes.txt.tmp-" + dead + "-0"));
    fs::remove(out / "checkpoint.npz.tmp-x-0");
    examples::prepare_run_folder({.program = "mnist", .path = out.string(), .outputs = outputs});
    CHECK(fs::is_empty(out));
}
