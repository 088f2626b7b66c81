// Checkpoints: bit-exact round trips, clear errors that leave the module unchanged, the .npz
// format itself, and (when python3 with numpy is installed) numpy reading our file.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "odenet/nn.hpp"
#include "support/skip.hpp"

using namespace odenet;
namespace nn = odenet::nn;
namespace fs = std::filesystem;

namespace {
struct Model : nn::Module {
    nn::Linear l1{3, 4};
    nn::BatchNorm2d bn{2};
    nn::ConcatSquashLinear l2{4, 2};
    Model() {
        register_module("l1", l1);
        register_module("bn", bn);
        register_module("l2", l2);
    }
};

struct TempDir {
    fs::path path;
    TempDir() {
        char name[] = "/tmp/odenet_nn_XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
};

// Every parameter and buffer value, deep-copied, for "unchanged" checks.
std::vector<Tensor<double>> snapshot(const nn::Module& m) {
    std::vector<Tensor<double>> out;
    for (const auto& [n, v] : nn::state_dict(m)) out.push_back(v.as<double>());
    return out;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const IOError& e) {
        return e.what();
    }
    return "no IOError";
}

void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}
}  // namespace

TEST_CASE("checkpoint: save then load is bit-exact, parameters and buffers") {
    TempDir dir;
    manual_seed(1);
    Model a;
    a.bn(randn({3, 2, 2, 2}));  // move the running statistics off their initial values
    nn::save(a, dir.file("m.npz"));
    manual_seed(2);
    Model b;
    const Var b_weight = b.l1.weight;
    nn::load(b, dir.file("m.npz"));
    const auto sa = nn::state_dict(a), sb = nn::state_dict(b);
    REQUIRE(sa.size() == sb.size());
    for (std::size_t i = 0; i < sa.size(); ++i) {
        CHECK(sa[i].first == sb[i].first);
        const auto& x = sa[i].second.as<double>();
        const auto& y = sb[i].second.as<double>();
        REQUIRE(x.shape() == y.shape());
        CHECK(std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0);
    }
    CHECK(b_weight.same(b.l1.weight));  // loading keeps the Vars (optimizers hold them)
    CHECK(b_weight.value<double>() == a.l1.weight.value<double>());
    // No temporary left behind.
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
    CHECK(files == 1);
}

TEST_CASE("checkpoint: float32 modules and optimizer state round trip") {
    TempDir dir;
    manual_seed(3);
    Model a;
    a.to(Dtype::float32);
    optim::Adam opt(a.parameters(), {.lr = 0.01});
    backward(sum(a.l2(Var::scalar(0.5), a.l1(ones({2, 3}, Dtype::float32)))));
    opt.step();
    nn::save(a, opt, dir.file("ckpt.npz"));

    manual_seed(4);
    Model b;
    b.to(Dtype::float32);
    optim::Adam opt_b(b.parameters(), {.lr = 0.5});
    nn::load(b, opt_b, dir.file("ckpt.npz"));
    CHECK(b.l1.weight.value<float>() == a.l1.weight.value<float>());
    CHECK(opt_b.lr() == 0.01);
    const auto sa = opt.state_dict(), sb = opt_b.state_dict();
    REQUIRE(sa.size() == sb.size());
    for (std::size_t i = 1; i < sa.size(); ++i) {
        CHECK(sa[i].first == sb[i].first);
        if (sa[i].second.dtype() == Dtype::float32) CHECK(sa[i].second.as<float>() == sb[i].second.as<float>());
    }
    // A module-only load ignores the optimizer's entries.
    Model c;
    c.to(Dtype::float32);
    nn::load(c, dir.file("ckpt.npz"));
    CHECK(c.l2.hyper_gate.bias.value<float>() == a.l2.hyper_gate.bias.value<float>());
    // A float64 module does not silently take float32 values.
    Model d;
    const auto before = snapshot(d);
    CHECK(error_of([&] { nn::load(d, dir.file("ckpt.npz")); }).find("'l1.weight' is float32, expected float64") !=
          std::string::npos);
    CHECK(snapshot(d) == before);
}

TEST_CASE("checkpoint: every bad file gives a clear IOError and leaves the module unchanged") {
    TempDir dir;
    manual_seed(5);
    Model saved;
    const std::string good = dir.file("good.npz");
    nn::save(saved, good);
    const std::string bytes = nn::read_file(good);

    manual_seed(6);
    Model m;
    const auto before = snapshot(m);
    auto expect_error = [&](const std::string& path, const std::string& fragment) {
        const std::string message = error_of([&] { nn::load(m, path); });
        INFO(message);
        CHECK(message.find(fragment) != std::string::npos);
        CHECK(message.find(path) != std::string::npos);  // the message names the file
        CHECK(snapshot(m) == before);
    };

    SUBCASE("missing file") { expect_error(dir.file("nope.npz"), "cannot open"); }
    SUBCASE("missing name") {
        auto entries = nn::state_dict(saved);
        entries.erase(entries.begin());  // "l1.weight"
        nn::save_npz(dir.file("missing.npz"), entries);
        expect_error(dir.file("missing.npz"), "missing 'l1.weight'");
    }
    SUBCASE("unexpected name") {
        auto entries = nn::state_dict(saved);
        entries.emplace_back("l3.weight", Value(Tensor<double>{1.0}));
        nn::save_npz(dir.file("extra.npz"), entries);
        expect_error(dir.file("extra.npz"), "unexpected 'l3.weight'");
    }
    SUBCASE("mismatched shape") {
        auto entries = nn::state_dict(saved);
        entries[0].second = Value(Tensor<double>(xt::zeros<double>({3, 4})));
        nn::save_npz(dir.file("shape.npz"), entries);
        expect_error(dir.file("shape.npz"), "'l1.weight' has shape (3, 4), expected (4, 3)");
    }
    SUBCASE("truncated file") {
        for (std::size_t keep : {bytes.size() - 1, bytes.size() / 2, std::size_t{10}}) {
            write_bytes(dir.file("cut.npz"), bytes.substr(0, keep));
            expect_error(dir.file("cut.npz"), "truncated");
        }
    }
    SUBCASE("garbage file") {
        write_bytes(dir.file("junk.npz"), std::string(1000, 'x'));
        expect_error(dir.file("junk.npz"), "not a zip/npz file");
        write_bytes(dir.file("empty.npz"), "");
        expect_error(dir.file("empty.npz"), "not a zip/npz file");
    }
    SUBCASE("flipped data byte") {
        std::string bad = bytes;
        bad[200] = static_cast<char>(bad[200] ^ 0x5a);  // inside the first entry's array data
        write_bytes(dir.file("flip.npz"), bad);
        expect_error(dir.file("flip.npz"), "CRC-32");
    }
}

TEST_CASE("npy: header layout and parsing") {
    const Value v(Tensor<float>{{1.0f, 2.0f, 3.0f}});
    const std::string npy = nn::npy_encode(v);
    CHECK(npy.substr(1, 5) == "NUMPY");
    CHECK((npy.size() - 12) % 64 == 0);  // header padded to 64 bytes; 12 bytes of data follow
    CHECK(npy.find("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }") != std::string::npos);
    const Value back = nn::npy_decode(npy, "mem", "x");
    CHECK(back.shape() == Shape{1, 3});
    CHECK(back.as<float>() == v.as<float>());
    const Value s = nn::npy_decode(nn::npy_encode(Value(Tensor<double>(2.5))), "mem", "s");
    CHECK(s.shape().empty());
    CHECK(s.as<double>()() == 2.5);
    CHECK(nn::npy_encode(Value(Tensor<double>{1.0})).find("'shape': (1,)") != std::string::npos);
    std::string wrong = npy;
    wrong.replace(wrong.find("<f4"), 3, "<i4");
    CHECK_THROWS_AS(nn::npy_decode(wrong, "mem", "x"), IOError);
}

TEST_CASE("checkpoint: numpy opens the file (skipped without python3 + numpy)") {
    // The first python3 with numpy: the one on PATH (maybe a pyenv or venv one), else Debian's
    // (python3-numpy installs into /usr/bin/python3 only).
    std::string python;
    for (const char* candidate : {"python3", "/usr/bin/python3"}) {
        if (std::system((std::string(candidate) + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0) {
            python = candidate;
            break;
        }
    }
    if (python.empty()) {
        // scripts/setup installs Debian's python3-numpy, so this runs in CI.
        odenet::test::skip("no python3 with numpy found (apt-get install python3-numpy), so the numpy "
                           "interoperability check did not run");
        return;
    }
    TempDir dir;
    manual_seed(7);
    Model m;
    m.l1.weight.mutable_value<double>()(0, 0) = 0.1234567890123;
    const std::string path = dir.file("np.npz");
    nn::save(m, path);
    const std::string cmd = python + " -c \"import numpy as np; d = np.load('" + path +
                            "'); w = d['l1.weight']; print(repr(float(w[0, 0])), w.dtype, w.shape, "
                            "d['bn.running_var'].sum())\"";
    FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[512] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, pipe);
    CHECK(::pclose(pipe) == 0);
    const std::string out(buf, n);
    INFO(out);
    CHECK(out.find("0.1234567890123 float64 (4, 3) 2.0") == 0);

    // And the other way: a file written by numpy.savez loads (it uses zip64 extra fields).
    const std::string np_path = dir.file("from_numpy.npz");
    const std::string write = python + " -c \"import numpy as np; np.savez('" + np_path +
                              "', a=np.arange(6, dtype=np.float32).reshape(2, 3), b=np.float64(1.5))\"";
    REQUIRE(std::system(write.c_str()) == 0);
    const auto entries = nn::load_npz(np_path);
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].first == "a");
    CHECK(entries[0].second.as<float>() == Tensor<float>{{0, 1, 2}, {3, 4, 5}});
    CHECK(entries[1].second.as<double>()() == 1.5);
}
