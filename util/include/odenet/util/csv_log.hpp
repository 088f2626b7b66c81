#pragma once
// A CSV file of training metrics, one row per call, flushed at once so that a crashed or
// interrupted run keeps everything logged so far and `tail -f` shows progress.
#include <cstdio>
#include <string>
#include <vector>

namespace odenet::util {

class CsvLog {
public:
    /// Opens `path` and writes the header line. With append = true and an existing file whose
    /// header equals `columns`, rows are added after the existing ones instead.
    /// Throws IOError if the file cannot be opened or its header differs; ValueError for no columns.
    CsvLog(const std::string& path, std::vector<std::string> columns, bool append = false);
    ~CsvLog();
    CsvLog(const CsvLog&) = delete;
    CsvLog& operator=(const CsvLog&) = delete;

    /// Appends one row (values printed with 10 significant digits; NaN as "nan") and flushes.
    /// Throws ValueError if the number of values differs from the columns, IOError on a failed write.
    void row(const std::vector<double>& values);

    const std::vector<std::string>& columns() const noexcept { return columns_; }
    const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::vector<std::string> columns_;
    std::FILE* file_ = nullptr;
};

/// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);

}  // namespace odenet::util
