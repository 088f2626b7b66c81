// The MNIST example's data: the IDX files, the synthetic digits the tests train on, batches and
// the validation split.
#include "odenet/mnist/train.hpp"

#include <algorithm>
#include <filesystem>

#include "odenet/nn.hpp"
#include "odenet/util/idx.hpp"

namespace odenet::mnist {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kSide = 28;
constexpr std::size_t kPixels = kSide * kSide;

std::string find_file(const std::string& dir, const std::string& name) {
    for (const std::string& candidate : {dir + "/" + name, dir + "/" + name + ".gz"}) {
        if (fs::exists(candidate)) return candidate;
    }
    throw IOError("mnist", dir + "/" + name + "[.gz]",
                  "not found; run scripts/fetch-mnist (or scripts/fetch-mnist --fashion) from the odenet checkout, "
                  "or point --data at the folder holding mnist/ and fashion-mnist/");
}

}  // namespace

std::string dataset_dir(const std::string& data_root, const std::string& dataset) {
    if (dataset == "mnist") return data_root + "/mnist";
    if (dataset == "fashion") return data_root + "/fashion-mnist";
    throw ValueError("mnist", "unknown dataset '" + dataset + "' (expected mnist or fashion)");
}

Dataset load_split(const std::string& data_root, const std::string& dataset, bool train, std::size_t limit) {
    const std::string dir = dataset_dir(data_root, dataset);
    const std::string prefix = train ? "train" : "t10k";
    Dataset d;
    d.images = util::load_images(find_file(dir, prefix + "-images-idx3-ubyte"));
    d.labels = util::load_labels(find_file(dir, prefix + "-labels-idx1-ubyte"));
    if (d.images.shape()[0] != d.labels.size() || d.images.shape()[2] != kSide || d.images.shape()[3] != kSide) {
        throw IOError("mnist", dir, "images " + shape_str(d.images.shape()) + " do not match " +
                                        std::to_string(d.labels.size()) + " labels of 28x28 images");
    }
    if (limit > 0 && limit < d.size()) {
        d.labels.resize(limit);
        Tensor<float> head = Tensor<float>::from_shape({limit, 1, kSide, kSide});
        std::copy_n(d.images.data(), limit * kPixels, head.data());
        d.images = std::move(head);
    }
    return d;
}

Dataset synthetic_digits(std::size_t n, std::uint64_t seed) {
    Generator gen(seed);
    Dataset d;
    d.images = Tensor<float>::from_shape({n, 1, kSide, kSide});
    d.labels.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t label = gen.below(10);
        d.labels[i] = label;
        float* img = d.images.data() + i * kPixels;
        for (std::size_t p = 0; p < kPixels; ++p) img[p] = static_cast<float>(0.15 * gen.uniform());
        // A 6x6 blob at one of 10 places on a 4x3 grid, jittered by up to 2 pixels.
        const std::size_t y0 = 3 + (label / 4) * 8 + gen.below(3), x0 = 2 + (label % 4) * 6 + gen.below(3);
        for (std::size_t y = y0; y < std::min(y0 + 6, kSide); ++y)
            for (std::size_t x = x0; x < std::min(x0 + 6, kSide); ++x) img[y * kSide + x] = 1.0f;
    }
    return d;
}

Tensor<float> gather_images(const Dataset& data, const std::vector<std::size_t>& order, std::size_t begin,
                            std::size_t end, Generator* crop) {
    Tensor<float> out = Tensor<float>::from_shape({end - begin, 1, kSide, kSide});
    for (std::size_t b = begin; b < end; ++b) {
        const float* src = data.images.data() + order[b] * kPixels;
        float* dst = out.data() + (b - begin) * kPixels;
        if (!crop) {
            std::copy_n(src, kPixels, dst);
            continue;
        }
        // RandomCrop(28, padding=4): the crop's corner in the padded 36x36 image is (dy, dx) in
        // [0, 8]², so output (y, x) reads input (y + dy - 4, x + dx - 4).
        const int dy = static_cast<int>(crop->below(9)) - 4, dx = static_cast<int>(crop->below(9)) - 4;
        for (int y = 0; y < int(kSide); ++y) {
            const int sy = y + dy;
            for (int x = 0; x < int(kSide); ++x) {
                const int sx = x + dx;
                dst[y * kSide + x] = sy >= 0 && sy < int(kSide) && sx >= 0 && sx < int(kSide) ? src[sy * kSide + sx] : 0.0f;
            }
        }
    }
    return out;
}

std::vector<std::size_t> gather_labels(const Dataset& data, const std::vector<std::size_t>& order, std::size_t begin,
                                       std::size_t end) {
    std::vector<std::size_t> out(end - begin);
    for (std::size_t b = begin; b < end; ++b) out[b - begin] = data.labels[order[b]];
    return out;
}

Dataset split_validation(Dataset& train, std::size_t n) {
    if (n >= train.size()) {
        throw ValueError("mnist", "--validation " + std::to_string(n) + " leaves no training images (the split has " +
                                      std::to_string(train.size()) + ")");
    }
    const std::size_t keep = train.size() - n;
    Dataset held;
    held.images = Tensor<float>::from_shape({n, 1, kSide, kSide});
    std::copy_n(train.images.data() + keep * kPixels, n * kPixels, held.images.data());
    held.labels.assign(train.labels.begin() + std::ptrdiff_t(keep), train.labels.end());
    Tensor<float> head = Tensor<float>::from_shape({keep, 1, kSide, kSide});
    std::copy_n(train.images.data(), keep * kPixels, head.data());
    train.images = std::move(head);
    train.labels.resize(keep);
    return held;
}

}  // namespace odenet::mnist
