#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "odenet/core/error.hpp"
#include "odenet/util/plot.hpp"
#include "support/temp_dir.hpp"

using namespace odenet;
using namespace odenet::util;

TEST_CASE("viridis: the colormap's ends and clamping") {
    CHECK(viridis(0.0) == Rgb{68, 1, 84});
    CHECK(viridis(1.0) == Rgb{253, 231, 37});
    CHECK(viridis(0.5) == Rgb{33, 145, 140});
    CHECK(viridis(-3.0) == viridis(0.0));
    CHECK(viridis(7.0) == viridis(1.0));
    CHECK(viridis(std::nan("")) == viridis(0.0));
}

TEST_CASE("nice_ticks: steps of 1, 2 or 5 x 10^k inside the range") {
    CHECK(nice_ticks(0, 10) == std::vector<double>{0, 2, 4, 6, 8, 10});
    CHECK(nice_ticks(-4, 4) == std::vector<double>{-4, -2, 0, 2, 4});
    const std::vector<double> t = nice_ticks(0.013, 0.071);
    REQUIRE(t.size() >= 2);
    CHECK(t.front() >= 0.013);
    CHECK(t.back() <= 0.071);
    CHECK(nice_ticks(1, 1).size() == 1);
}

TEST_CASE("grid_points: pixel centres, first row at the top") {
    const Tensor<double> g = grid_points({0, 4, 0, 2}, 2);
    CHECK(g.shape() == Shape{4, 2});
    CHECK(g(0, 0) == 1.0);   // column 0 centre: 0 + 0.5 * 4/2
    CHECK(g(0, 1) == 1.5);   // row 0 is the top: 2 - 0.5 * 2/2
    CHECK(g(3, 0) == 3.0);
    CHECK(g(3, 1) == 0.5);
}

TEST_CASE("scatter_plot: a point lands at its pixel") {
    const Tensor<double> pts = {{0.0, 0.0}, {-3.99, 3.99}, {100.0, 100.0}};
    const Image img = scatter_plot(pts, {}, 101, {.color = {255, 0, 0}, .alpha = 1.0, .dot = 1, .axes = false});
    CHECK(img.pixel(50, 50) == Rgb{255, 0, 0});
    CHECK(img.pixel(0, 0) == Rgb{255, 0, 0});
    CHECK(img.pixel(25, 25) == kWhite);
    CHECK_NOTHROW(scatter_plot(Tensor<double>{{std::nan(""), 0.0}, {1e300, -1e300}}, {}, 10));
    CHECK_THROWS_AS(scatter_plot(Tensor<double>::from_shape({3, 3}), {}, 10), ShapeError);
    CHECK_THROWS_AS(scatter_plot(pts, {1, 1, 0, 1}, 10), ValueError);
}

TEST_CASE("heatmap: min purple, max yellow, non-finite black, row 0 on top") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const Tensor<double> v = {{0.0, 1.0}, {2.0, nan}};
    const Image img = heatmap(v, 3);
    CHECK(img.width() == 6);
    CHECK(img.height() == 6);
    CHECK(img.pixel(0, 0) == viridis(0.0));
    CHECK(img.pixel(2, 5) == viridis(1.0));
    CHECK(img.pixel(4, 1) == viridis(0.5));
    CHECK(img.pixel(5, 5) == kBlack);
    CHECK_THROWS_AS(heatmap(Tensor<double>::from_shape({3})), ShapeError);
}

TEST_CASE("line_plot and trajectory_plot draw and save") {
    odenet::test::TempDir dir;
    Series loss{"loss", {}, {}}, nfe{"nfe", {}, {}};
    for (int i = 0; i < 100; ++i) {
        loss.x.push_back(i);
        loss.y.push_back(3.0 * std::exp(-0.05 * i) + 0.1);
        nfe.x.push_back(i);
        nfe.y.push_back(20 + i / 10);
    }
    const Image curves = line_plot({loss, nfe}, {.width = 400, .height = 300, .log_y = true, .title = "training", .x_label = "iteration"});
    CHECK(curves.width() == 400);
    CHECK(curves.pixel(60, 20) == kBlack);  // the axes box's top-left corner
    curves.save_png(dir.file("curves.png"));
    CHECK_THROWS_AS(line_plot({Series{"bad", {1, 2}, {1}}}), ValueError);
    CHECK_THROWS_AS(line_plot({Series{"empty", {}, {}}}), ValueError);
    // A loss that reaches 0 or NaN leaves a gap on a log axis instead of failing.
    CHECK_NOTHROW(line_plot({Series{"gap", {0, 1, 2}, {1.0, 0.0, 0.5}}}, {.log_y = true}));
    // A log time axis with data as markers in a colour of their own: the marker is drawn where
    // log10 x puts it (x from 1e-2 to 1e2, frame from pixel 60 to 388: 1 sits in the middle), and
    // x <= 0 is skipped as y <= 0 is on a log y axis.
    const Rgb red{200, 0, 0};
    const Series data{.label = "data", .x = {0.0, 1e-2, 1.0, 1e2}, .y = {5.0, 0.0, 0.5, 1.0}, .markers = true, .color = red};
    const Image logx = line_plot({data}, {.width = 400, .height = 300, .x_label = "t", .log_x = true});
    const long mid = (60 + 388) / 2;
    bool found = false;
    for (std::size_t y = 20; y < 266; ++y) found = found || logx.pixel(std::size_t(mid), y) == red;
    CHECK(found);

    Tensor<double> paths = Tensor<double>::from_shape({10, 3, 2});
    for (std::size_t t = 0; t < 10; ++t) {
        for (std::size_t p = 0; p < 3; ++p) {
            paths(t, p, 0) = -3.0 + 0.6 * double(t);
            paths(t, p, 1) = double(p) - 1.0;
        }
    }
    // A diverged particle (far away or NaN) is clipped or skipped, quickly.
    paths(5, 0, 0) = 1e300;
    paths(6, 1, 1) = std::nan("");
    const Image traj = trajectory_plot(paths, {}, 200);
    traj.save_png(dir.file("traj.png"));
    CHECK(traj.pixel(25, 75) != kWhite);   // start of particle 2 (y = 1)
    CHECK_THROWS_AS(trajectory_plot(Tensor<double>::from_shape({3, 2}), {}, 10), ShapeError);
}
