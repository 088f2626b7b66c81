// quickstart: what odenet was built with, and a first taste of its tensors.
// The main demo is toy_density (scripts/demo); this one only checks the build.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <xtensor/xio.hpp>

#include "odenet/odenet.hpp"

int main(int argc, char** argv) {
    CLI::App app{"odenet quickstart: prints the BLAS in use and draws seeded random numbers"};
    std::uint64_t seed = 0;
    app.add_option("--seed", seed, "random seed")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    std::printf("odenet %s, BLAS: %s\n", ODENET_VERSION_STRING, odenet::blas_summary().c_str());
    odenet::manual_seed(seed);
    const odenet::Tensor<double> z = odenet::randn<double>({2, 3});
    std::cout << "randn(2, 3) with seed " << seed << ":\n" << z << "\n";
    const odenet::Tensor<double> g = odenet::sum_to<double>(xt::ones<double>({4, 2, 3}), {2, 1});
    std::cout << "sum_to(ones(4, 2, 3), (2, 1)):\n" << g << "\n";
    return 0;
}
