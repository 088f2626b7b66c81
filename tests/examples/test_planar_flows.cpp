// examples/planar_flows: the target energies against their formulas, the normalising constant
// against a closed form, and the two model families' densities and training losses.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "odenet/autodiff.hpp"
#include "odenet/optim/adam.hpp"
#include "planar_flows/models.hpp"
#include "planar_flows/targets.hpp"

using namespace odenet;
namespace pf = odenet::planar_flows;

namespace {

// Rezende & Mohamed's Table 1 written out in doubles, apart from the code under test.
double reference_energy(const std::string& target, double z1, double z2) {
    const double pi = std::numbers::pi;
    const double w1 = std::sin(2 * pi * z1 / 4), w2 = 3 * std::exp(-0.5 * std::pow((z1 - 1) / 0.6, 2)),
                 w3 = 3 / (1 + std::exp(-(z1 - 1) / 0.3));
    const double wall = std::abs(z1) > 4 ? 0.5 * std::pow((std::abs(z1) - 4) / 0.1, 2) : 0.0;
    if (target == "u1")
        return 0.5 * std::pow((std::hypot(z1, z2) - 2) / 0.4, 2) -
               std::log(std::exp(-0.5 * std::pow((z1 - 2) / 0.6, 2)) + std::exp(-0.5 * std::pow((z1 + 2) / 0.6, 2)));
    if (target == "u2") return 0.5 * std::pow((z2 - w1) / 0.4, 2) + wall;
    if (target == "u3")
        return -std::log(std::exp(-0.5 * std::pow((z2 - w1) / 0.35, 2)) + std::exp(-0.5 * std::pow((z2 - w1 + w2) / 0.35, 2))) + wall;
    return -std::log(std::exp(-0.5 * std::pow((z2 - w1) / 0.4, 2)) + std::exp(-0.5 * std::pow((z2 - w1 + w3) / 0.35, 2))) + wall;
}

double integral_on_grid(pf::PlanarModel& model) {
    const std::size_t n = 161;
    const double half = 8.0, h = 2 * half / double(n - 1);
    Tensor<double> points = Tensor<double>::from_shape({n * n, 2});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            points(i * n + j, 0) = -half + h * double(i);
            points(i * n + j, 1) = -half + h * double(j);
        }
    double s = 0;
    for (double lp : model.log_density(points)) s += std::exp(lp) * h * h;
    return s;
}

}  // namespace

TEST_CASE("planar_flows targets: U1-U4 equal Rezende & Mohamed's formulas, inside and outside the wall") {
    const Tensor<double> z{{0.3, -1.2}, {-2.5, 0.7}, {1.9, 1.1}, {4.6, -0.4}, {-5.1, 2.0}, {0.0, 0.05}};
    for (const std::string& target : pf::target_names()) {
        const Tensor<double> u = pf::energy(target, Var(z)).value<double>();
        for (std::size_t i = 0; i < z.shape()[0]; ++i)
            CHECK(u(i) == doctest::Approx(reference_energy(target, z(i, 0), z(i, 1))).epsilon(1e-12));
    }
    // A batch large enough to be split across threads and blocks.
    Generator gen(2);
    const Tensor<double> many = randn<double>({3000, 2}, gen) * 3.0;
    for (const std::string& target : pf::target_names()) {
        const Tensor<double> u = pf::energy(target, Var(many)).value<double>();
        double worst = 0;
        for (std::size_t i = 0; i < many.shape()[0]; ++i)
            worst = std::max(worst, std::abs(u(i) - reference_energy(target, many(i, 0), many(i, 1))) /
                                        std::max(1.0, std::abs(u(i))));
        INFO(target);
        CHECK(worst < 1e-12);
    }
    CHECK_THROWS_WITH_AS(pf::energy("u5", Var(z)), doctest::Contains("u1, u2, u3, u4"), ValueError);
    CHECK_THROWS_AS(pf::energy("u1", zeros({3, 3})), ShapeError);
}

TEST_CASE("planar_flows targets: log Z of U2 equals its closed form, and the quadrature has converged") {
    // exp(−U2) is a Gaussian in z2 of width 0.4 around w1(z1) for every z1, and the wall adds two
    // half-Gaussians of width 0.1 to the box |z1| <= 4: Z = 0.4 √(2π) (8 + 0.1 √(2π)).
    const double root = std::sqrt(2 * std::numbers::pi);
    CHECK(pf::log_normaliser("u2") == doctest::Approx(std::log(0.4 * root * (8 + 0.1 * root))).epsilon(1e-6));
    for (const std::string& target : pf::target_names())
        CHECK(pf::log_normaliser(target, 600) == doctest::Approx(pf::log_normaliser(target, 1200)).epsilon(1e-5));
}

TEST_CASE("planar_flows models: every density integrates to 1 on a grid, after a few training steps (both families, both objectives)") {
    for (pf::Family family : {pf::Family::nf, pf::Family::cnf}) {
        for (pf::Objective objective : {pf::Objective::kl, pf::Objective::ml}) {
            manual_seed(3);
            pf::PlanarModel model({.family = family, .size = 4, .objective = objective, .hidden = 8});
            optim::Adam opt(model.module().parameters(), {.lr = 0.05});
            Generator gen(4);
            for (int it = 0; it < 5; ++it) {
                const Var loss = objective == pf::Objective::kl ? model.kl_loss("u1", 64, gen)
                                                                : model.nll_loss(Var(randn<double>({64, 2}, gen)) * 0.5 + 1.0);
                opt.zero_grad();
                backward(loss);
                opt.step();
            }
            INFO(model.label(), objective == pf::Objective::kl ? " kl" : " ml");
            CHECK(integral_on_grid(model) == doctest::Approx(1.0).epsilon(0.01));
        }
    }
}

TEST_CASE("planar_flows models: 300 Adam steps of density matching on U1 at least halve KL(q||p), NF K=8 and CNF M=8") {
    const double log_z = pf::log_normaliser("u1");
    for (pf::Family family : {pf::Family::nf, pf::Family::cnf}) {
        manual_seed(5);
        pf::PlanarModel model({.family = family, .size = 8, .objective = pf::Objective::kl, .hidden = 16});
        auto kl = [&] {
            NoGradGuard no_grad;
            Generator eval(99);
            return model.kl_loss("u1", 2000, eval).item() + log_z;
        };
        const double before = kl();
        optim::Adam opt(model.module().parameters(), {.lr = 0.01});
        Generator gen(6);
        for (int it = 0; it < 300; ++it) {
            const Var loss = model.kl_loss("u1", 128, gen);
            opt.zero_grad();
            backward(loss);
            opt.step();
        }
        const double after = kl();
        INFO(model.label(), ": KL before ", before, ", after ", after);
        CHECK(after > 0);
        CHECK(after < 0.5 * before);
    }
}
