#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "odenet/core/error.hpp"
#include "odenet/util/csv_log.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::util;

namespace {
std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
}  // namespace

TEST_CASE("CsvLog: header, then one flushed row per call") {
    odenet::test::TempDir dir;
    const std::string path = dir.file("log.csv");
    CsvLog log(path, {"iter", "loss", "nfe,forward"});
    CHECK(read_all(path) == "iter,loss,\"nfe,forward\"\n");
    log.row({1, 2.5, 26});
    // Flushed: visible to another reader while the log is still open.
    CHECK(read_all(path) == "iter,loss,\"nfe,forward\"\n1,2.5,26\n");
    log.row({2, std::nan(""), 0.1234567890123});
    CHECK(read_all(path) == "iter,loss,\"nfe,forward\"\n1,2.5,26\n2,nan,0.123456789\n");
    CHECK_THROWS_WITH_AS(log.row({1, 2}), doctest::Contains("2 values for 3 columns"), ValueError);
}

TEST_CASE("CsvLog: append keeps old rows when the header matches, refuses when it differs") {
    odenet::test::TempDir dir;
    const std::string path = dir.file("log.csv");
    { CsvLog(path, {"a", "b"}).row({1, 2}); }
    { CsvLog(path, {"a", "b"}, /*append=*/true).row({3, 4}); }
    CHECK(read_all(path) == "a,b\n1,2\n3,4\n");
    CHECK_THROWS_WITH_AS(CsvLog(path, {"a", "c"}, true), doctest::Contains("header 'a,b' differs from 'a,c'"), IOError);
    { CsvLog(path, {"a", "c"}); }  // without append: a fresh file
    CHECK(read_all(path) == "a,c\n");
    { CsvLog(dir.file("new.csv"), {"x"}, true).row({5}); }  // append to a missing file starts it
    CHECK(read_all(dir.file("new.csv")) == "x\n5\n");
}

TEST_CASE("CsvLog: failures") {
    odenet::test::TempDir dir;
    CHECK_THROWS_AS(CsvLog(dir.file("no/dir/log.csv"), {"a"}), IOError);
    CHECK_THROWS_AS(CsvLog(dir.file("x.csv"), {}), ValueError);
    CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(csv_field("plain") == "plain");
}
