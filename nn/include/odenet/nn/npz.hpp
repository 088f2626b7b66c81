#pragma once
// NumPy .npy and .npz files, written and read by odenet itself (no Python needed).
//  - .npy: format version 1.0 (numpy/lib/format.py): magic "\x93NUMPY", version, a little-endian
//    header length, a Python-dict header {'descr': '<f8', 'fortran_order': False, 'shape': (..), }
//    padded to a multiple of 64 bytes, then the raw little-endian C-order data.
//  - .npz: a zip archive of "<name>.npy" entries, STORED (no compression), CRC-32 checked:
//    what numpy.savez writes and numpy.load opens. Reading accepts numpy.savez's files too
//    (zip64 extra fields included), but not savez_compressed's deflated entries.
// Only float32 ('<f4') and float64 ('<f8') arrays are supported.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "odenet/autodiff/value.hpp"

namespace odenet::nn {

using NamedValues = std::vector<std::pair<std::string, Value>>;

/// The bytes of a .npy file holding `value`.
std::string npy_encode(const Value& value);
/// Parses a .npy file's bytes; `what` names it in errors. Throws IOError(where, path, ...) with
/// the reason (bad magic, unsupported dtype, truncated data, ...).
Value npy_decode(std::string_view bytes, const std::string& path, const std::string& what);

/// The bytes of an .npz archive of `entries` (entry names get ".npy" appended).
std::string npz_encode(const NamedValues& entries);
/// Parses an .npz archive; names are returned without ".npy". IOError on anything malformed.
NamedValues npz_decode(std::string_view bytes, const std::string& path);

/// Writes `bytes` to `path` atomically: a temporary file next to it, fsync, then rename, so the
/// file is either the old one or the complete new one. IOError on failure (temporary removed).
void write_file_atomic(const std::string& path, std::string_view bytes);
/// The whole file; IOError if it cannot be opened or read.
std::string read_file(const std::string& path);

/// save_npz(path, entries) = write_file_atomic(path, npz_encode(entries)).
void save_npz(const std::string& path, const NamedValues& entries);
NamedValues load_npz(const std::string& path);

}  // namespace odenet::nn
