#include "odenet/util/csv_log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

#include "odenet/core/error.hpp"

namespace odenet::util {

namespace {

std::string header_line(const std::vector<std::string>& columns) {
    std::string line;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i > 0) line += ',';
        line += csv_field(columns[i]);
    }
    return line;
}

// The first line of an existing file, or nothing if the file does not exist or is empty.
bool first_line(const std::string& path, std::string& line) {
    std::ifstream in(path);
    return in && std::getline(in, line);
}

}  // namespace

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string quoted = "\"";
    for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

CsvLog::CsvLog(const std::string& path, std::vector<std::string> columns, bool append)
    : path_(path), columns_(std::move(columns)) {
    if (columns_.empty()) throw ValueError("CsvLog", "no columns for '" + path + "'");
    const std::string header = header_line(columns_);
    std::string existing;
    const bool resume = append && first_line(path, existing);
    if (resume && existing != header) {
        throw IOError("CsvLog", path, "cannot append: its header '" + existing + "' differs from '" + header + "'");
    }
    file_ = std::fopen(path.c_str(), resume ? "a" : "w");
    if (!file_) throw IOError("CsvLog", path, std::string("cannot open for writing: ") + std::strerror(errno));
    if (!resume && (std::fprintf(file_, "%s\n", header.c_str()) < 0 || std::fflush(file_) != 0)) {
        std::fclose(file_);
        file_ = nullptr;
        throw IOError("CsvLog", path, "writing the header failed");
    }
}

CsvLog::~CsvLog() {
    if (file_) std::fclose(file_);
}

void CsvLog::row(const std::vector<double>& values) {
    if (values.size() != columns_.size()) {
        throw ValueError("CsvLog::row", std::to_string(values.size()) + " values for " + std::to_string(columns_.size()) +
                                            " columns in '" + path_ + "'");
    }
    std::string line;
    for (std::size_t i = 0; i < values.size(); ++i) {
        char buf[40];
        if (std::isnan(values[i])) std::snprintf(buf, sizeof buf, "nan");
        else std::snprintf(buf, sizeof buf, "%.10g", values[i]);
        if (i > 0) line += ',';
        line += buf;
    }
    if (std::fprintf(file_, "%s\n", line.c_str()) < 0 || std::fflush(file_) != 0) {
        throw IOError("CsvLog::row", path_, std::string("write failed: ") + std::strerror(errno));
    }
}

}  // namespace odenet::util
