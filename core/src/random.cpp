#include "odenet/core/random.hpp"

#include <cmath>

namespace odenet {

void Generator::seed(std::uint64_t seed) {
    engine_.seed(seed);
    has_spare_ = false;
}

double Generator::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_normal_;
    }
    // Marsaglia & Bray (1964), the polar form of the Box-Muller transform.
    double u, v, s;
    do {
        u = 2.0 * uniform() - 1.0;
        v = 2.0 * uniform() - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double scale = std::sqrt(-2.0 * std::log(s) / s);
    spare_normal_ = v * scale;
    has_spare_ = true;
    return u * scale;
}

double Generator::rademacher() { return (engine_() >> 63) ? 1.0 : -1.0; }

std::uint64_t Generator::below(std::uint64_t n) {
    // Rejection sampling removes the modulo bias.
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t r;
    do {
        r = engine_();
    } while (r >= limit);
    return r % n;
}

Generator& default_generator() {
    static Generator gen(0);
    return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

namespace {
template <class T, class Draw>
Tensor<T> fill(const Shape& shape, const char* op, Draw&& draw) {
    Tensor<T> out = empty_tensor<T>(shape, op);
    for (T& x : out) x = static_cast<T>(draw());
    return out;
}
}  // namespace

template <class T>
Tensor<T> randn(const Shape& shape, Generator& gen) {
    return fill<T>(shape, "randn", [&] { return gen.normal(); });
}
template <class T>
Tensor<T> uniform(const Shape& shape, double lo, double hi, Generator& gen) {
    return fill<T>(shape, "uniform", [&] { return lo + (hi - lo) * gen.uniform(); });
}
template <class T>
Tensor<T> rademacher(const Shape& shape, Generator& gen) {
    return fill<T>(shape, "rademacher", [&] { return gen.rademacher(); });
}

template Tensor<float> randn(const Shape&, Generator&);
template Tensor<double> randn(const Shape&, Generator&);
template Tensor<float> uniform(const Shape&, double, double, Generator&);
template Tensor<double> uniform(const Shape&, double, double, Generator&);
template Tensor<float> rademacher(const Shape&, Generator&);
template Tensor<double> rademacher(const Shape&, Generator&);

}  // namespace odenet
