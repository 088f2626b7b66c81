// Checks the real MNIST and Fashion-MNIST files when scripts/fetch-mnist has put them in
// data/cache/; skipped (with a message) otherwise, because tests never download.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <string>

#include <xtensor/xmath.hpp>

#include "odenet/util/idx.hpp"
#include "support/skip.hpp"

using namespace odenet;
using namespace odenet::util;

namespace {

struct Expected {
    const char* folder;
    const char* suffix;         // ".gz" for Fashion-MNIST, which the Debian package ships gzipped
    double train_mean;          // mean pixel value in [0, 1], the normalisation constant everyone quotes
    std::size_t first_train;    // label of the first training image
};

void check_dataset(const Expected& e) {
    const std::string dir = std::string(ODENET_SOURCE_DIR) + "/data/cache/" + e.folder + "/";
    const std::string suffix = e.suffix;
    if (!std::filesystem::exists(dir + "train-images-idx3-ubyte" + suffix)) {
        const std::string command = suffix.empty() ? "scripts/fetch-mnist" : "scripts/fetch-mnist --fashion";
        odenet::test::skip("no " + dir + " (run " + command + ")");
        return;
    }
    const Tensor<float> train = load_images(dir + "train-images-idx3-ubyte" + suffix);
    const std::vector<std::size_t> train_labels = load_labels(dir + "train-labels-idx1-ubyte" + suffix);
    const Tensor<float> test = load_images(dir + "t10k-images-idx3-ubyte" + suffix);
    const std::vector<std::size_t> test_labels = load_labels(dir + "t10k-labels-idx1-ubyte" + suffix);
    CHECK(train.shape() == Shape{60000, 1, 28, 28});
    CHECK(test.shape() == Shape{10000, 1, 28, 28});
    CHECK(train_labels.size() == 60000);
    CHECK(test_labels.size() == 10000);
    CHECK(train_labels[0] == e.first_train);
    // Every class appears 6000 times in Fashion-MNIST and 5421 to 6742 times in MNIST.
    std::vector<std::size_t> counts(11, 0);
    for (std::size_t l : train_labels) ++counts[std::min<std::size_t>(l, 10)];
    CHECK(counts[10] == 0);  // no label above 9
    counts.pop_back();
    for (std::size_t c : counts) CHECK(c >= 5421);
    CHECK(xt::amin(train)() == 0.0f);
    CHECK(xt::amax(train)() == 1.0f);
    CHECK(xt::mean(train)() == doctest::Approx(e.train_mean).epsilon(1e-3));
}

}  // namespace

TEST_CASE("real MNIST files load (skipped without data/cache/mnist)") {
    check_dataset({"mnist", "", 0.1307, 5});
}

TEST_CASE("real Fashion-MNIST files load (skipped without data/cache/fashion-mnist)") {
    check_dataset({"fashion-mnist", ".gz", 0.2860, 9});
}
