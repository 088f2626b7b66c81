#pragma once
// Seeded, reproducible random numbers. The bits come from std::mt19937_64 (fully specified by
// the C++ standard) and the distributions are our own, so a seed gives the same numbers with
// every compiler and standard library, unlike std::normal_distribution.
#include <cstdint>
#include <random>

#include "odenet/core/tensor.hpp"

namespace odenet {

class Generator {
public:
    explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
    void seed(std::uint64_t seed);
    /// Uniform on [0, 1), 53 random bits.
    double uniform();
    /// Standard normal (Marsaglia's polar method; the spare value is kept for the next call).
    double normal();
    /// +1 or -1 with equal probability.
    double rademacher();
    /// Uniform integer in [0, n).
    std::uint64_t below(std::uint64_t n);

private:
    std::mt19937_64 engine_;
    double spare_normal_ = 0.0;
    bool has_spare_ = false;
};

/// The generator used when none is passed. One per process; not for concurrent use: a thread
/// that draws random numbers alongside another should own its own Generator.
Generator& default_generator();

/// Seeds the default generator. Same seed, same numbers.
void manual_seed(std::uint64_t seed);

/// Standard normal entries. Like uniform and rademacher, throws ShapeError naming the function
/// when the shape's element or byte count does not fit in std::size_t.
template <class T>
Tensor<T> randn(const Shape& shape, Generator& gen = default_generator());
/// Uniform on [lo, hi).
template <class T>
Tensor<T> uniform(const Shape& shape, double lo = 0.0, double hi = 1.0, Generator& gen = default_generator());
template <class T>
Tensor<T> rademacher(const Shape& shape, Generator& gen = default_generator());

extern template Tensor<float> randn(const Shape&, Generator&);
extern template Tensor<double> randn(const Shape&, Generator&);
extern template Tensor<float> uniform(const Shape&, double, double, Generator&);
extern template Tensor<double> uniform(const Shape&, double, double, Generator&);
extern template Tensor<float> rademacher(const Shape&, Generator&);
extern template Tensor<double> rademacher(const Shape&, Generator&);

}  // namespace odenet
