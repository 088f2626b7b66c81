#include "odenet/ode/dense_output.hpp"

namespace odenet::ode {

void dense_weights(const DenseTableau& dense, double theta, double* w) {
    for (std::size_t j = 0; j < dense.poly.size(); ++j) {
        const auto& p = dense.poly[j];
        double acc = 0.0;
        for (std::size_t m = p.size(); m-- > 0;) acc = acc * theta + p[m];
        w[j] = acc * theta;  // poly[j][m] multiplies theta^(m+1)
    }
}

}  // namespace odenet::ode
