#pragma once
// Flat-array kernels behind StateOps for every contiguous state (Tensor, std::vector,
// std::array). One pass over memory per call, no temporaries: the stage combination
// y + h sum_j a_j k_j is what an RK step spends its time on once f is cheap.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace odenet::ode::detail {

constexpr std::size_t kNpos = std::numeric_limits<std::size_t>::max();

// The number of terms is a template parameter so that the inner sum unrolls and the loop over
// elements vectorises; ivdep because out never aliases an input (the stepper guarantees it).
template <int N, bool HasY, class T>
void lincomb_fixed(T* out, const T* y, const T* hc, const T* const* k, std::size_t len) {
    const T* kk[N > 0 ? N : 1];
    T cc[N > 0 ? N : 1];
    for (int j = 0; j < N; ++j) {
        kk[j] = k[j];
        cc[j] = hc[j];
    }
#pragma GCC ivdep
    for (std::size_t i = 0; i < len; ++i) {
        T acc = HasY ? y[i] : T(0);
        for (int j = 0; j < N; ++j) acc += cc[j] * kk[j][i];
        out[i] = acc;
    }
}

template <bool HasY, class T>
void lincomb_dispatch(T* out, const T* y, const T* hc, const T* const* k, int n, std::size_t len) {
    switch (n) {
#define ODENET_LINCOMB_CASE(N) \
    case N: return lincomb_fixed<N, HasY>(out, y, hc, k, len);
        ODENET_LINCOMB_CASE(0) ODENET_LINCOMB_CASE(1) ODENET_LINCOMB_CASE(2) ODENET_LINCOMB_CASE(3)
        ODENET_LINCOMB_CASE(4) ODENET_LINCOMB_CASE(5) ODENET_LINCOMB_CASE(6) ODENET_LINCOMB_CASE(7)
        ODENET_LINCOMB_CASE(8) ODENET_LINCOMB_CASE(9) ODENET_LINCOMB_CASE(10) ODENET_LINCOMB_CASE(11)
        ODENET_LINCOMB_CASE(12) ODENET_LINCOMB_CASE(13) ODENET_LINCOMB_CASE(14) ODENET_LINCOMB_CASE(15)
        ODENET_LINCOMB_CASE(16)
#undef ODENET_LINCOMB_CASE
        default: break;
    }
    // More than 16 terms (no tableau here has them): the same sum without unrolling.
    for (std::size_t i = 0; i < len; ++i) {
        T acc = HasY ? y[i] : T(0);
        for (int j = 0; j < n; ++j) acc += hc[j] * k[j][i];
        out[i] = acc;
    }
}

/// The most terms one linear combination may have (dop853's dense output has 17).
constexpr int kMaxTerms = 64;

/// out = y + h sum_j c_j k_j (y may be null: out = h sum_j c_j k_j), n <= kMaxTerms.
template <class T>
void lincomb(T* out, const T* y, double h, const double* c, const T* const* k, int n, std::size_t len) {
    T hc[kMaxTerms];
    for (int j = 0; j < n; ++j) hc[j] = static_cast<T>(h * c[j]);
    if (y)
        lincomb_dispatch<true>(out, y, hc, k, n, len);
    else
        lincomb_dispatch<false>(out, y, hc, k, n, len);
}

/// The same for a length known at compile time (std::array states): the sum runs over stages
/// with the LEN partial sums in registers, with no dispatch, which is what a 3-dimensional
/// Lorenz step needs to stay near Boost.Odeint's hand-unrolled dopri5. Same summation order as
/// lincomb, so both paths give the same bits.
/// `data` maps an element of k to its T*, so that no pointer array is built first.
template <std::size_t LEN, class T, class K, class Data>
[[gnu::always_inline]] inline void lincomb_small(T* out, const T* y, double h, const double* c, const K* k, int n,
                                                 Data data) {
    T acc[LEN];
    for (std::size_t i = 0; i < LEN; ++i) acc[i] = y ? y[i] : T(0);
    for (int j = 0; j < n; ++j) {
        const T hc = static_cast<T>(h * c[j]);
        const T* kj = data(k[j]);
        for (std::size_t i = 0; i < LEN; ++i) acc[i] += hc * kj[i];
    }
    for (std::size_t i = 0; i < LEN; ++i) out[i] = acc[i];
}

/// err_i / (atol + rtol max(|y0_i|, |y1_i|)) (Hairer, Norsett & Wanner I, eq. II.4.10).
template <class T>
inline double scaled(T err, T y0, T y1, double rtol, double atol) {
    const double sc = atol + rtol * std::max(std::abs(static_cast<double>(y0)), std::abs(static_cast<double>(y1)));
    return static_cast<double>(err) / sc;
}

/// RMS of the scaled error; 0 for an empty state.
template <class T>
double rms_error(const T* err, const T* y0, const T* y1, double rtol, double atol, std::size_t len) {
    if (len == 0) return 0.0;
    double sum = 0.0;
    for (std::size_t i = 0; i < len; ++i) {
        const double e = scaled(err[i], y0[i], y1[i], rtol, atol);
        sum += e * e;
    }
    return std::sqrt(sum / static_cast<double>(len));
}

template <class T>
void scaled_error(double* out, const T* err, const T* y0, const T* y1, double rtol, double atol, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i) out[i] = scaled(err[i], y0[i], y1[i], rtol, atol);
}

/// Flat index of the largest |scaled error| (a NaN wins: it is what broke the step).
template <class T>
std::size_t argmax_scaled_error(const T* err, const T* y0, const T* y1, double rtol, double atol, std::size_t len) {
    std::size_t best = kNpos;
    double best_val = -1.0;
    for (std::size_t i = 0; i < len; ++i) {
        const double e = std::abs(scaled(err[i], y0[i], y1[i], rtol, atol));
        if (std::isnan(e)) return i;
        if (e > best_val) {
            best_val = e;
            best = i;
        }
    }
    return best;
}

template <class T>
std::size_t first_nonfinite(const T* x, std::size_t len) {
    for (std::size_t i = 0; i < len; ++i)
        if (!std::isfinite(x[i])) return i;
    return kNpos;
}

}  // namespace odenet::ode::detail
