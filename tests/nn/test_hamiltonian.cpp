// Hamiltonian neural networks (Greydanus, Dzamba & Yosinski 2019): the field against Hamilton's
// equations for known energies, energy conservation along the model's own flow (dopri5 at a tight
// tolerance, leapfrog and yoshida4 at a fixed step), gradients in every odeint mode and by finite
// differences at first and second order, float32, errors.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "odenet/autodiff.hpp"
#include "odenet/nn/activation.hpp"
#include "odenet/nn/hamiltonian.hpp"
#include "odenet/nn/linear.hpp"
#include "odenet/nn/odeint.hpp"
#include "odenet/testing/gradcheck.hpp"
#include "support/compare.hpp"

using namespace odenet;
using odenet::test::max_abs_diff;

namespace {


// Σᵢ over the columns of x (N, m), kept as (N, 1).
Var row_sum(const Var& x) { return sum(x, {1}, /*keepdims=*/true); }

// H(q, p) = a Σ pᵢ²/2 + b Σ (1 − cos qᵢ): m uncoupled pendulums with parameters a (inverse mass)
// and b (g/l). Field: dq/dt = a p, dp/dt = −b sin q.
struct PendulumEnergy : nn::Layer {
    Var a = Var::scalar(1.0), b = Var::scalar(1.0);
    PendulumEnergy(double a0, double b0) {
        a = Var::scalar(a0), b = Var::scalar(b0);
        register_parameter("a", a);
        register_parameter("b", b);
    }
    Var forward(const Var& y) override {
        const std::size_t m = y.shape()[1] / 2;
        return a * row_sum(square(slice(y, 1, m, 2 * m))) * 0.5 + b * row_sum(rsub(1.0, cos(slice(y, 1, 0, m))));
    }
};

// The two halves of PendulumEnergy for SeparableHamiltonian: T(p) = a Σ p²/2, V(q) = b Σ (1 − cos q).
struct Kinetic : nn::Layer {
    Var a = Var::scalar(1.0);
    Kinetic() { register_parameter("a", a); }
    Var forward(const Var& p) override { return a * row_sum(square(p)) * 0.5; }
};
struct Potential : nn::Layer {
    Var b = Var::scalar(1.0);
    Potential() { register_parameter("b", b); }
    Var forward(const Var& q) override { return b * row_sum(rsub(1.0, cos(q))); }
};

// A small MLP energy, in -> hidden -> hidden -> 1 with tanh: H as the paper learns it. Its
// parameters are members, so a test can swap them for gradcheck's inputs.
struct MlpEnergy : nn::Layer {
    nn::Linear l1, l2, l3;
    MlpEnergy(std::size_t in, std::size_t hidden, Dtype dtype = Dtype::float64)
        : l1(in, hidden, {.dtype = dtype}), l2(hidden, hidden, {.dtype = dtype}), l3(hidden, 1, {.dtype = dtype}) {
        register_module("l1", l1);
        register_module("l2", l2);
        register_module("l3", l3);
    }
    Var forward(const Var& y) override { return l3(tanh(l2(tanh(l1(y))))); }
};

std::shared_ptr<nn::Hamiltonian> mlp_hamiltonian(std::size_t m, std::size_t hidden, std::uint64_t seed, Dtype dtype = Dtype::float64) {
    manual_seed(seed);
    return std::make_shared<nn::Hamiltonian>(std::make_shared<MlpEnergy>(2 * m, hidden, dtype));
}

// A wrong "Hamiltonian" field for the tests' controls: [∂H/∂p, +∂H/∂q], along which H is not
// conserved (dH/dt = 2 ∂H/∂q · ∂H/∂p).
struct WrongSign : nn::TimeLayer {
    std::shared_ptr<nn::Hamiltonian> inner;
    explicit WrongSign(std::shared_ptr<nn::Hamiltonian> h) : inner(std::move(h)) { register_module("inner", inner); }
    Var forward(const Var& t, const Var& y) override {
        const Var f = inner->forward(t, y);
        const std::size_t m = y.shape()[1] / 2;
        return concat({slice(f, 1, 0, m), neg(slice(f, 1, m, 2 * m))}, 1);
    }
};

Var states(std::size_t n, std::size_t m, std::uint64_t seed, double scale = 1.0) {
    manual_seed(seed);
    return Var(Tensor<double>(scale * randn<double>({n, 2 * m})));
}

// max over samples of |H(y(T)) − H(y0)|.
double energy_drift(nn::Hamiltonian& h, const Var& y0, const Var& y1) {
    NoGradGuard no_grad;
    return max_abs_diff(h.energy(y0), h.energy(y1));
}

// max over samples and states of |∇H|, the Euclidean norm per sample.
double max_gradient_norm(const Var& field) {
    const Var f = to_dtype(field, Dtype::float64);
    const auto& v = f.value<double>();
    double worst = 0;
    for (std::size_t i = 0; i < v.shape()[0]; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < v.shape()[1]; ++j) s += v(i, j) * v(i, j);
        worst = std::max(worst, std::sqrt(s));
    }
    return worst;
}

}  // namespace

TEST_CASE("Hamiltonian: the field is Hamilton's equations of a known H, recorded or not (float64)") {
    for (std::size_t m : {1, 3}) {
        nn::Hamiltonian h(std::make_shared<PendulumEnergy>(0.7, 1.3));
        const Var y = states(5, m, 11 + m, 1.5);
        const auto& v = y.value<double>();
        Tensor<double> expected = Tensor<double>::from_shape({5, 2 * m});
        for (std::size_t i = 0; i < 5; ++i)
            for (std::size_t j = 0; j < m; ++j) {
                expected(i, j) = 0.7 * v(i, m + j);             // dq/dt = ∂H/∂p = a p
                expected(i, m + j) = -1.3 * std::sin(v(i, j));  // dp/dt = −∂H/∂q = −b sin q
            }
        const Var recorded = h.forward(Var::scalar(0.0), y);
        CHECK(max_abs_diff(recorded, Var(expected)) < 1e-15);  // the same floating-point operations up to ordering
        CHECK(recorded.requires_grad());                       // a function of a and b: training needs this graph
        NoGradGuard no_grad;
        const Var plain = h.forward(Var::scalar(0.0), y);
        CHECK(!plain.requires_grad());
        CHECK(max_abs_diff(plain, recorded) == 0.0);
        CHECK(!GradMode::enabled());  // forward's local recording scope has ended
    }
}

TEST_CASE("SeparableHamiltonian: the field and energy equal the non-separable form of the same H") {
    nn::Hamiltonian whole(std::make_shared<PendulumEnergy>(1.0, 1.0));
    nn::SeparableHamiltonian split(std::make_shared<Kinetic>(), std::make_shared<Potential>());
    const Var y = states(7, 2, 21, 2.0);
    CHECK(max_abs_diff(split.forward(Var::scalar(0.0), y), whole.forward(Var::scalar(0.0), y)) < 1e-15);
    CHECK(max_abs_diff(split.energy(y), whole.energy(y)) < 1e-15);
    CHECK(split.parameters().size() == 2);
}

TEST_CASE("Hamiltonian, SeparableHamiltonian: planes (2, N, m) give the rows' field; a batched leapfrog solve equals one solve per sample") {
    auto h = mlp_hamiltonian(2, 6, 25);
    const Var rows = states(3, 2, 26);
    const Var planes = permute(reshape(rows, {3, 2, 2}), {1, 0, 2});  // (2, 3, 2): [q; p]
    const Var f_rows = h->forward(Var::scalar(0.0), rows), f_planes = h->forward(Var::scalar(0.0), planes);
    CHECK(f_planes.shape() == Shape{2, 3, 2});
    CHECK(max_abs_diff(reshape(permute(f_planes, {1, 0, 2}), {3, 4}), f_rows) == 0.0);
    CHECK(max_abs_diff(h->energy(planes), h->energy(rows)) == 0.0);
    auto split = std::make_shared<nn::SeparableHamiltonian>(std::make_shared<Kinetic>(), std::make_shared<Potential>());
    const Var ts(Tensor<double>{0.0, 2.0});
    const ode::OdeintOptions leapfrog{.solver = {.method = ode::Method::leapfrog, .step_size = 0.1}, .grad = ode::Grad::direct};
    const Var batch = slice(nn::odeint(split, planes, ts, leapfrog).ys, 0, 1, 2);  // (1, 2, 3, 2)
    for (std::size_t n = 0; n < 3; ++n) {
        const Var one = slice(nn::odeint(split, slice(rows, 0, n, n + 1), ts, leapfrog).ys, 0, 1, 2);  // (1, 1, 4): N = 1 splits as [q, p]
        const Var from_batch = reshape(permute(reshape(slice(batch, 2, n, n + 1), {2, 1, 2}), {1, 0, 2}), {1, 1, 4});
        CHECK(max_abs_diff(from_batch, one) < 1e-15);
    }
    // Rows with N > 1 would be split into halves of rows, not q and p: refused, naming planes. A
    // general H is not separable: refused for the symplectic methods, naming the separable layer.
    CHECK_THROWS_WITH_AS(nn::odeint(split, rows, ts, leapfrog), doctest::Contains("planes (2, N, m)"), ValueError);
    CHECK_THROWS_WITH_AS(nn::odeint(h, slice(rows, 0, 0, 1), ts, leapfrog), doctest::Contains("SeparableHamiltonian"),
                         ValueError);
    CHECK_NOTHROW(nn::odeint(h, rows, ts, {.solver = {.rtol = 1e-6, .atol = 1e-8}, .grad = ode::Grad::direct}));
}

TEST_CASE("Hamiltonian: an MLP's energy is conserved along its own flow to dopri5's tolerance") {
    auto h = mlp_hamiltonian(2, 16, 31);
    const Var y0 = states(8, 2, 32);
    const Var ts(Tensor<double>{0.0, 10.0});
    const double tol = 1e-10;
    NoGradGuard no_grad;
    const auto sol = nn::odeint(h, y0, ts, {.solver = {.rtol = tol, .atol = tol}, .grad = ode::Grad::adjoint});
    const Var y1 = reshape(slice(sol.ys, 0, 1, 2), {8, 4});
    // The exact flow conserves H, so the energy changes only by the local errors δₖ of the K
    // accepted steps, each |ΔH| ≤ |∇H| |δₖ|, and they add without amplification (H of the exact
    // flow from any point is that point's H): |H(y(T)) − H(y0)| ≤ K G max|δₖ|, G = max |∇H| =
    // max |field|. The controller keeps dopri5's error estimate (an RMS over the 2m = 4 elements
    // of the whole batch, 32 numbers) at ≤ atol + rtol |y|, so |δₖ| per sample ≤ √32 (1 + |y|) tol;
    // |y| ≤ 5 here. The estimate bounds the lower-order solution's error (local extrapolation), so
    // the bound holds with room.
    const double k = double(sol.forward.accepted);
    const double g = std::max(max_gradient_norm(h->forward(Var::scalar(0.0), y0)), max_gradient_norm(h->forward(Var::scalar(0.0), y1)));
    const double bound = k * g * std::sqrt(32.0) * 6.0 * tol;
    const double drift = energy_drift(*h, y0, y1);
    MESSAGE("energy drift ", drift, " against the bound ", bound, " (", k, " steps)");
    CHECK(drift < bound);
    // Control: the field with the sign of −∂H/∂q flipped is solved as accurately but does not
    // conserve H, and its drift is far above the bound.
    auto wrong = std::make_shared<WrongSign>(h);
    const Var w1 = reshape(slice(nn::odeint(wrong, y0, ts, {.solver = {.rtol = tol, .atol = tol}}).ys, 0, 1, 2), {8, 4});
    CHECK(energy_drift(*h, y0, w1) > 1000 * bound);
}

TEST_CASE("SeparableHamiltonian: leapfrog's energy error stays within its O(h²) bound for 100 time units, yoshida4 within O(h⁴)") {
    auto f = std::make_shared<nn::SeparableHamiltonian>(std::make_shared<Kinetic>(), std::make_shared<Potential>());
    // Four pendulums as planes (2, 4, 1) = [q; p], the layout the steppers split; energies 0.17
    // to 0.91: librations.
    const Var y0 = reshape(Var(Tensor<double>{{0.5, 1.4, -1.0, 0.2}, {0.3, -0.4, 0.9, -1.1}}), {2, 4, 1});
    const Var ts = linspace(0.0, 100.0, 1001);
    const double h = 0.1;
    auto worst_error = [&](ode::Method method) {
        NoGradGuard no_grad;
        const Var ys = nn::odeint(f, y0, ts, {.solver = {.method = method, .step_size = h}, .grad = ode::Grad::direct}).ys;
        const Var e0 = f->energy(y0);
        double worst = 0, worst_first_tenth = 0;
        for (std::size_t i = 0; i < 1001; ++i) {
            const double d = max_abs_diff(f->energy(reshape(slice(ys, 0, i, i + 1), {2, 4, 1})), e0);
            worst = std::max(worst, d);
            if (i <= 100) worst_first_tenth = std::max(worst_first_tenth, d);
        }
        return std::pair{worst, worst_first_tenth};
    };
    // Backward error analysis (Hairer, Lubich & Wanner, Geometric Numerical Integration, 2nd ed.,
    // ch. IX: sections IX.4 and IX.8): leapfrog, a symmetric (Strang) splitting of T and V,
    // conserves a modified energy H̃ = H + h² H₂ + O(h⁴) over exponentially long times, with H₂ a
    // combination of the brackets {T,{T,V}} and {V,{V,T}} with weights 1/12 and −1/24 (which
    // carries which depends on whether the kicks or the drifts come first). Here {T,{T,V}} =
    // p² cos q and {V,{V,T}} = sin² q, both ≤ max(1, p²) ≤ 2 for energies below 1 (p² ≤ 2E), so
    // |H₂| ≤ (1/12 + 1/24)·2 = 1/4 and |H − H0| ≤ 2 h² max|H₂| + O(h⁴) = h²/2 for all times.
    const auto [leapfrog, leapfrog_early] = worst_error(ode::Method::leapfrog);
    MESSAGE("leapfrog: worst energy error ", leapfrog, " (first 10 time units ", leapfrog_early, ")");
    CHECK(leapfrog < h * h / 2);
    CHECK(leapfrog < 1.5 * leapfrog_early);  // bounded: the error over 100 units is that of the first 10
    // Yoshida (1990) composes three leapfrogs into a fourth-order symmetric method, so its modified
    // energy differs from H by O(h⁴); the check is h⁴ = 1e-4 with constant 1 (measured: 7e-6), which
    // leapfrog's h² behaviour (2e-3 here) would fail by a factor of 20.
    const auto [yoshida, yoshida_early] = worst_error(ode::Method::yoshida4);
    MESSAGE("yoshida4: worst energy error ", yoshida, " (first 10 time units ", yoshida_early, ")");
    CHECK(yoshida < h * h * h * h);
    CHECK(yoshida < 1.5 * yoshida_early);
}

TEST_CASE("Hamiltonian in nn::odeint: adjoint and checkpointed gradients equal direct backprop (float64)") {
    auto h = mlp_hamiltonian(2, 8, 41);
    const Var y0 = states(6, 2, 42);
    const Var ts(Tensor<double>{0.0, 0.5, 1.0});
    auto gradients = [&](ode::Grad mode) {
        const Var ys = nn::odeint(h, y0, ts, {.solver = {.rtol = 1e-10, .atol = 1e-10}, .grad = mode}).ys;
        return grad({sum(ys * ys)}, h->parameters(), {}, {.allow_unused = true});  // H's output bias does not reach the field
    };
    const std::vector<Var> direct = gradients(ode::Grad::direct);
    for (ode::Grad mode : {ode::Grad::adjoint, ode::Grad::checkpointed}) {
        const std::vector<Var> g = gradients(mode);
        REQUIRE(g.size() == direct.size());
        // The adjoint is the exact solution's gradient to solver tolerance (1e-10 per step, a few
        // dozen steps); checkpointed is the same discrete solve as direct, to rounding.
        for (std::size_t i = 0; i < g.size(); ++i) CHECK(max_abs_diff(g[i], direct[i]) < 1e-7);
    }
}

TEST_CASE("Hamiltonian: the field passes gradcheck at first and second order in the state and H's parameters") {
    auto h = mlp_hamiltonian(1, 5, 51);
    auto& mlp = dynamic_cast<MlpEnergy&>(h->network());
    auto fn = [&](const std::vector<Var>& in) {
        mlp.l1.weight = in[1];
        mlp.l2.bias = in[2];
        mlp.l3.weight = in[3];
        return h->forward(Var::scalar(0.0), in[0]);
    };
    const std::vector<Var> inputs{states(4, 1, 52), mlp.l1.weight.detach(), mlp.l2.bias.detach(), mlp.l3.weight.detach()};
    CHECK(testing::gradcheck(fn, inputs));
    CHECK(testing::gradgradcheck(fn, inputs));
}

TEST_CASE("Hamiltonian: a loss through a fixed-step odeint passes gradcheck at first and second order in H's parameters") {
    auto h = mlp_hamiltonian(1, 4, 61);
    auto& mlp = dynamic_cast<MlpEnergy&>(h->network());
    const Var y0 = states(3, 1, 62);
    const Var ts(Tensor<double>{0.0, 0.3, 0.6});
    auto fn = [&](const std::vector<Var>& in) {
        mlp.l1.weight = in[0];
        mlp.l3.weight = in[1];
        // rk4 at a fixed step: a smooth map of the parameters (an adaptive step would jump).
        const Var ys = nn::odeint(h, y0, ts, {.solver = {.method = ode::Method::rk4, .step_size = 0.1}, .grad = ode::Grad::direct}).ys;
        return ys * ys;
    };
    const std::vector<Var> inputs{mlp.l1.weight.detach(), mlp.l3.weight.detach()};
    CHECK(testing::gradcheck(fn, inputs));
    CHECK(testing::gradgradcheck(fn, inputs));
}

TEST_CASE("Hamiltonian: training through the layer changes H so the field fits a target (second-order gradients at work)") {
    // Fit the MLP's field to the pendulum's on random states for a few Adam-free gradient steps:
    // the loss must fall, which needs ∂(field)/∂θ, a second derivative of H.
    auto h = mlp_hamiltonian(1, 16, 71);
    nn::Hamiltonian target(std::make_shared<PendulumEnergy>(1.0, 1.0));
    const Var y = states(64, 1, 72);
    const Var want = [&] { NoGradGuard ng; return target.forward(Var::scalar(0.0), y); }();
    auto loss_of = [&] { return mean(square(h->forward(Var::scalar(0.0), y) - want)); };
    const double first = loss_of().item();
    for (int it = 0; it < 200; ++it) {
        const Var loss = loss_of();
        const std::vector<Var> g = grad({loss}, h->parameters(), {}, {.allow_unused = true});
        std::vector<Var> ps = h->parameters();
        for (std::size_t i = 0; i < ps.size(); ++i) ps[i].mutable_value<double>() -= 0.05 * g[i].value<double>();
    }
    const double last = loss_of().item();
    MESSAGE("field loss ", first, " -> ", last);
    CHECK(last < 0.5 * first);
}

TEST_CASE("Hamiltonian: float32 end to end (field, energy, an adjoint solve and its gradient)") {
    auto h32 = mlp_hamiltonian(2, 8, 81, Dtype::float32);
    auto h64 = mlp_hamiltonian(2, 8, 81, Dtype::float64);  // the same draws, in float64
    const Var y64 = states(5, 2, 82), y32 = to_dtype(y64, Dtype::float32);
    const Var f32 = h32->forward(Var::scalar(0.0), y32);
    CHECK(f32.dtype() == Dtype::float32);
    CHECK(h32->energy(y32).dtype() == Dtype::float32);
    // float32 rounding of O(1) values through two layers: a few ulps of 6e-8, times the fan-in.
    CHECK(max_abs_diff(f32, h64->forward(Var::scalar(0.0), y64)) < 1e-5);
    const Var ys = nn::odeint(h32, y32, Var(Tensor<double>{0.0, 1.0}), {.solver = {.rtol = 1e-5, .atol = 1e-5}}).ys;
    CHECK(ys.dtype() == Dtype::float32);
    const std::vector<Var> g = grad({sum(ys * ys)}, h32->parameters(), {}, {.allow_unused = true});
    for (const Var& gi : g) {
        CHECK(gi.dtype() == Dtype::float32);
        const Var gv = gi;  // named: the range must outlive the loop
        for (float v : gv.value<float>()) CHECK(std::isfinite(v));
    }
}

TEST_CASE("Hamiltonian, SeparableHamiltonian: null networks, odd widths and wrong energy shapes are refused by name") {
    CHECK_THROWS_WITH_AS(nn::Hamiltonian(nullptr), doctest::Contains("Hamiltonian"), ValueError);
    CHECK_THROWS_WITH_AS(nn::SeparableHamiltonian(std::make_shared<Kinetic>(), nullptr), doctest::Contains("potential"), ValueError);
    nn::Hamiltonian h(std::make_shared<PendulumEnergy>(1.0, 1.0));
    CHECK_THROWS_WITH_AS(h.forward(Var::scalar(0.0), zeros({3, 3})), doctest::Contains("Hamiltonian: expects states (N, 2m)"), ShapeError);
    CHECK_THROWS_WITH_AS(h.forward(Var::scalar(0.0), zeros({4})), doctest::Contains("got (4)"), ShapeError);
    CHECK_THROWS_WITH_AS(h.energy(zeros({3, 0})), doctest::Contains("even width > 0"), ShapeError);
    manual_seed(91);
    nn::Hamiltonian two_outputs(std::make_shared<nn::Linear>(4, 2));
    CHECK_THROWS_WITH_AS(two_outputs.forward(Var::scalar(0.0), zeros({3, 4})),
                         doctest::Contains("H(q, p) must return (N, 1) = (3, 1) energies, got (3, 2)"), ShapeError);
    nn::SeparableHamiltonian split(std::make_shared<nn::Linear>(2, 3), std::make_shared<Potential>());
    CHECK_THROWS_WITH_AS(split.forward(Var::scalar(0.0), zeros({3, 4})), doctest::Contains("SeparableHamiltonian: the kinetic network T(p)"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(split.forward(Var::scalar(0.0), zeros({3, 5})), doctest::Contains("SeparableHamiltonian"), ShapeError);
    CHECK_THROWS_WITH_AS(h.forward(Var::scalar(0.0), zeros({3, 4, 1})), doctest::Contains("planes (2, N, m)"), ShapeError);
}
