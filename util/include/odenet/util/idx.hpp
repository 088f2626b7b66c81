#pragma once
// IDX files: the format of MNIST and Fashion-MNIST (LeCun et al., "The MNIST database of
// handwritten digits", http://yann.lecun.com/exdb/mnist/). A big-endian header
//   0x00 0x00 <type code> <number of dimensions n>, then n uint32 dimensions,
// followed by the array in row-major order. odenet reads unsigned-byte arrays (type 0x08):
// images have magic 0x00000803 (N, rows, cols), labels 0x00000801 (N).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "odenet/core/tensor.hpp"

namespace odenet::util {

/// An unsigned-byte IDX array: its dimensions and its row-major bytes (product(dims) of them).
struct IdxArray {
    std::vector<std::size_t> dims;
    std::vector<std::uint8_t> data;
};

/// Parses a whole IDX file held in memory. `name` is used in error messages (usually the path).
/// Checks the two zero bytes, the type code (only 0x08), the number of dimensions (1 to
/// kIdxMaxDims), and that the dimensions' product equals the bytes that follow the header.
/// Throws IOError(where = "parse_idx", path = name) saying what is wrong. Never reads past n.
IdxArray parse_idx(const std::uint8_t* data, std::size_t n, const std::string& name);

/// The largest number of dimensions accepted (the format allows 255; MNIST uses at most 3).
inline constexpr std::size_t kIdxMaxDims = 8;

/// Reads all bytes of a file, decompressing it when it starts with the gzip magic 1f 8b.
/// Throws IOError for a missing or unreadable file and for a corrupt or truncated gzip stream.
/// Unbounded: for IDX files use read_idx, which stops where the header says the data ends.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);

/// Reads and parses an IDX file, plain or gzip. A gzip stream is inflated header first, then
/// to at most one byte past the size the header declares: a longer stream (a "gzip bomb") is an
/// IOError stating the declared size, raised before more is inflated. Throws IOError naming the
/// path for everything parse_idx and read_maybe_gzip reject.
IdxArray read_idx(const std::string& path);

/// MNIST-style images, shape (N, 1, rows, cols), pixel values scaled by 1/255 into [0, 1].
/// Throws IOError unless the file holds a 3-dimensional unsigned-byte array with N >= 1 images
/// of at least one pixel (an empty dataset is refused).
Tensor<float> load_images(const std::string& path);

/// MNIST-style labels, one per example, each checked to be below `num_classes` (10 for MNIST
/// and Fashion-MNIST). Throws IOError unless the file holds a non-empty 1-dimensional
/// unsigned-byte array of such labels (the message names the index and the value of the first
/// bad one); ValueError for num_classes == 0.
std::vector<std::size_t> load_labels(const std::string& path, std::size_t num_classes = 10);

/// "60000x28x28".
std::string dims_str(const std::vector<std::size_t>& dims);

}  // namespace odenet::util
