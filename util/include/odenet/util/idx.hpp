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
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);

/// read_maybe_gzip then parse_idx. Throws IOError naming the path.
IdxArray read_idx(const std::string& path);

/// MNIST-style images, shape (N, 1, rows, cols), pixel values scaled by 1/255 into [0, 1].
/// Throws IOError unless the file holds a 3-dimensional unsigned-byte array.
Tensor<float> load_images(const std::string& path);

/// MNIST-style labels, one per example. Throws IOError unless the file holds a 1-dimensional
/// unsigned-byte array.
std::vector<std::size_t> load_labels(const std::string& path);

/// "60000x28x28".
std::string dims_str(const std::vector<std::size_t>& dims);

}  // namespace odenet::util
