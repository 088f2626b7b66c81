#include "odenet/ode/tableau.hpp"

#include <array>
#include <cmath>
#include <numeric>

#include "odenet/core/error.hpp"
#include "tableau_build.hpp"

namespace odenet::ode {

namespace {

// Coefficients are decimal expansions of rationals (or of roots, for tsit5), each good to
// about 1e-16; sums of up to 16 of them with magnitudes up to ~500 (dop853's dense vectors)
// lose a few more digits, hence a relative 1e-12.
constexpr double kTol = 1e-12;

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

double abs_sum(const std::vector<double>& v) {
    double s = 0.0;
    for (double x : v) s += std::abs(x);
    return s;
}

void require(bool ok, const ButcherTableau& t, const std::string& what) {
    if (!ok) throw ValueError("validate(" + t.name + ")", what);
}

void validate_dense(const ButcherTableau& t) {
    const int s = t.stages();
    const DenseTableau& d = t.dense;
    const int extra = static_cast<int>(d.c_extra.size());
    require(d.a_extra.size() == d.c_extra.size(), t, "dense: a_extra and c_extra differ in length");
    for (int i = 0; i < extra; ++i) {
        require(static_cast<int>(d.a_extra[i].size()) == s + 1 + i, t,
                "dense: a_extra row " + std::to_string(i) + " must cover stages 0.." + std::to_string(s + i));
        require(std::abs(sum(d.a_extra[i]) - d.c_extra[i]) <= kTol * (1 + abs_sum(d.a_extra[i])), t,
                "dense: extra row " + std::to_string(i) + " does not sum to its node");
    }
    require(static_cast<int>(d.poly.size()) == s + 1 + extra, t, "dense: one weight polynomial per dense stage");
    // At theta = 1 the interpolant must give y1, i.e. the weights sum to b (f1 and extras to 0).
    for (int j = 0; j < s + 1 + extra; ++j) {
        const double w1 = sum(d.poly[j]);
        const double want = j < s ? t.b[j] : 0.0;
        require(std::abs(w1 - want) <= kTol * (1 + abs_sum(d.poly[j])), t,
                "dense: weight of stage " + std::to_string(j) + " at theta = 1 is not b_j");
    }
}

}  // namespace

bool ButcherTableau::fsal() const {
    const int s = stages();
    if (s < 2 || c.back() != 1.0) return false;
    const auto& last = a.back();
    for (int j = 0; j < s - 1; ++j)
        if (last[j] != b[j]) return false;
    return b.back() == 0.0;
}

void validate(const ButcherTableau& t) {
    const int s = t.stages();
    require(s >= 1, t, "no stages");
    require(t.c[0] == 0.0, t, "c_0 must be 0 (explicit method)");
    require(static_cast<int>(t.a.size()) == s, t, "a must have one row per stage");
    require(static_cast<int>(t.b.size()) == s, t, "b must have one weight per stage");
    for (int i = 0; i < s; ++i) {
        require(static_cast<int>(t.a[i].size()) == i, t, "a must be strictly lower triangular (row " + std::to_string(i) + ")");
        require(std::abs(sum(t.a[i]) - t.c[i]) <= kTol * (1 + abs_sum(t.a[i])), t,
                "row " + std::to_string(i) + " of a does not sum to c_" + std::to_string(i));
    }
    require(std::abs(sum(t.b) - 1.0) <= kTol * abs_sum(t.b), t, "sum of b is not 1");
    if (t.adaptive()) {
        require(static_cast<int>(t.b_err.size()) == s, t, "b_err must have one weight per stage");
        require(std::abs(sum(t.b_err)) <= kTol * (1 + abs_sum(t.b_err)), t, "sum of b_err is not 0");
        require(t.error_order > 0 && t.error_order < t.order + 2, t, "error_order out of range");
    }
    if (!t.b_err_low.empty())
        require(static_cast<int>(t.b_err_low.size()) == s &&
                    std::abs(sum(t.b_err_low)) <= kTol * (1 + abs_sum(t.b_err_low)), t, "sum of b_err_low is not 0");
    validate_dense(t);
}

DenseTableau hermite_dense(const std::vector<double>& b) {
    // y(theta) = h00 y0 + h10 h f0 + h01 y1 + h11 h f1 with the cubic Hermite basis
    // h01 = 3 theta^2 - 2 theta^3, h10 = theta - 2 theta^2 + theta^3, h11 = theta^3 - theta^2.
    // Since h00 + h01 = 1 and y1 - y0 = h sum b_j k_j: w_j = h01 b_j + h10 [j = 0] + h11 [j = s].
    const int s = static_cast<int>(b.size());
    DenseTableau d;
    d.order = 3;
    d.poly.assign(s + 1, detail::Poly(3, 0.0));
    for (int j = 0; j < s; ++j) d.poly[j] = {0.0, 3.0 * b[j], -2.0 * b[j]};
    d.poly[0][0] += 1.0;
    d.poly[0][1] += -2.0;
    d.poly[0][2] += 1.0;
    d.poly[s] = {0.0, -1.0, 1.0};
    return d;
}

namespace detail {

Poly poly_mul(const Poly& p, const Poly& q) {
    Poly r(p.size() + q.size() - 1, 0.0);
    for (std::size_t i = 0; i < p.size(); ++i)
        for (std::size_t j = 0; j < q.size(); ++j) r[i + j] += p[i] * q[j];
    return r;
}

std::vector<Poly> nested_to_poly(const std::vector<std::vector<double>>& r, int n) {
    // The multiplier of r_k is theta^(1 + k/2) (1 - theta)^((k+1)/2) (integer division).
    const int m = static_cast<int>(r.size());
    const int degree = 1 + (m - 1) / 2 + m / 2;
    std::vector<Poly> w(n, Poly(degree, 0.0));  // w[j][i] multiplies theta^(i+1)
    for (int k = 0; k < m; ++k) {
        Poly mult{1.0};
        for (int e = 0; e < 1 + k / 2; ++e) mult = poly_mul(mult, {0.0, 1.0});
        for (int e = 0; e < (k + 1) / 2; ++e) mult = poly_mul(mult, {1.0, -1.0});
        for (int j = 0; j < n; ++j) {
            const double rj = j < static_cast<int>(r[k].size()) ? r[k][j] : 0.0;
            for (std::size_t i = 1; i < mult.size(); ++i) w[j][i - 1] += rj * mult[i];
        }
    }
    return w;
}

std::vector<std::vector<double>> hairer_leading_vectors(const std::vector<double>& b, int n) {
    const int s = static_cast<int>(b.size());
    std::vector<double> r0(n, 0.0), r1(n, 0.0), r2(n, 0.0);
    for (int j = 0; j < s; ++j) {
        r0[j] = b[j];
        r1[j] = -b[j];
        r2[j] = 2.0 * b[j];
    }
    r1[0] += 1.0;
    r2[0] -= 1.0;
    r2[s] -= 1.0;
    return {r0, r1, r2};
}

}  // namespace detail

}  // namespace odenet::ode
