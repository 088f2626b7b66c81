#include "op_registry.hpp"

#include <algorithm>
#include <cmath>

#include "odenet/core/random.hpp"

namespace odenet::testing {

namespace {
using V = std::vector<Var>;
}

std::vector<Var> sample_inputs(const OpCase& c, std::uint64_t seed) {
    Generator gen(seed);
    std::vector<Var> xs;
    for (const Shape& s : c.shapes) {
        Tensor<double> t;
        switch (c.domain) {
            case Domain::any: t = randn<double>(s, gen); break;
            case Domain::dyadic: {
                t = randn<double>(s, gen);
                for (double& x : t) x = std::clamp(std::round(x * 16.0), -63.0, 63.0) / 16.0;
                break;
            }
            case Domain::positive: t = uniform<double>(s, 0.5, 2.0, gen); break;
            case Domain::nonzero: {
                t = uniform<double>(s, 0.5, 2.0, gen);
                for (double& x : t) x *= gen.rademacher();
                break;
            }
        }
        xs.push_back(Var(std::move(t)));
    }
    return xs;
}

const std::vector<OpCase>& op_registry() {
    static const std::vector<OpCase> cases = {
        // ---- unary ----
        {"neg", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return neg(x[0]); }},
        {"exp", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return exp(x[0]); }},
        {"log", "positive", {{3, 4}}, Domain::positive, [](const V& x) { return log(x[0]); }},
        {"sqrt", "positive", {{3, 4}}, Domain::positive, [](const V& x) { return sqrt(x[0]); }},
        {"square", "rank 3", {{2, 3, 2}}, Domain::any, [](const V& x) { return square(x[0]); }},
        {"abs", "away from 0", {{3, 4}}, Domain::nonzero, [](const V& x) { return abs(x[0]); }},
        {"tanh", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return tanh(x[0]); }},
        {"tanh_backward", "g (1 - y^2)", {{3, 4}, {3, 4}}, Domain::any,
         [](const V& x) { return tanh_backward(x[0], tanh(x[1])); }},
        {"sigmoid", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return sigmoid(x[0]); }},
        {"relu", "away from 0", {{3, 4}}, Domain::nonzero, [](const V& x) { return relu(x[0]); }},
        {"softplus", "large and small", {{3, 4}}, Domain::any, [](const V& x) { return softplus(x[0] * 10.0); }},
        {"elu", "both sides", {{3, 4}}, Domain::nonzero, [](const V& x) { return elu(x[0], 0.7); }},
        {"sin", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return sin(x[0]); }},
        {"cos", "matrix", {{3, 4}}, Domain::any, [](const V& x) { return cos(x[0]); }},
        {"pow", "scalar exponent", {{3, 4}}, Domain::positive, [](const V& x) { return pow(x[0], 2.5); }},
        {"pow", "tensor exponent, broadcast", {{3, 4}, {4}}, Domain::positive, [](const V& x) { return pow(x[0], x[1]); }},
        // ---- scalar operands ----
        {"add_scalar", "x + 2", {{3, 4}}, Domain::any, [](const V& x) { return x[0] + 2.0; }},
        {"mul_scalar", "3 x", {{3, 4}}, Domain::any, [](const V& x) { return 3.0 * x[0]; }},
        {"rsub_scalar", "1 - x", {{3, 4}}, Domain::any, [](const V& x) { return 1.0 - x[0]; }},
        {"rdiv_scalar", "2 / x", {{3, 4}}, Domain::nonzero, [](const V& x) { return 2.0 / x[0]; }},
        // ---- binary, with broadcasting both ways ----
        {"add", "broadcast (3,1,4) with (2,4)", {{3, 1, 4}, {2, 4}}, Domain::any, [](const V& x) { return x[0] + x[1]; }},
        {"sub", "broadcast (3,1,4) with (2,4)", {{3, 1, 4}, {2, 4}}, Domain::any, [](const V& x) { return x[0] - x[1]; }},
        {"mul", "broadcast (3,1,4) with (2,4)", {{3, 1, 4}, {2, 4}}, Domain::any, [](const V& x) { return x[0] * x[1]; }},
        {"mul", "same input twice", {{3, 4}}, Domain::any, [](const V& x) { return x[0] * x[0]; }},
        {"div", "broadcast (2,4) with (3,1,4)", {{2, 4}, {3, 1, 4}}, Domain::nonzero, [](const V& x) { return x[0] / x[1]; }},
        {"where", "mask broadcast over rows", {{3, 4}, {3, 4}}, Domain::any,
         [](const V& x) {
             Var mask(Tensor<double>{1.0, 0.0, 0.0, 1.0});
             return where(mask, x[0], x[1]);
         }},
        {"linear_combination", "three operands", {{2, 3}, {2, 3}, {2, 3}}, Domain::any,
         [](const V& x) { return linear_combination({x[0], square(x[1]), x[2]}, {1.0, -0.5, 2.0}); }},
        // ---- reductions ----
        {"sum", "all", {{3, 4}}, Domain::any, [](const V& x) { return sum(x[0]); }},
        {"sum", "axes {0, 2}", {{2, 3, 4}}, Domain::any, [](const V& x) { return sum(x[0], {0, 2}); }},
        {"sum", "axis -1, keepdims", {{2, 3, 4}}, Domain::any, [](const V& x) { return sum(x[0], {-1}, true); }},
        {"mean", "all", {{3, 4}}, Domain::any, [](const V& x) { return mean(x[0]); }},
        {"mean", "axis 1, keepdims", {{2, 3, 4}}, Domain::any, [](const V& x) { return mean(x[0], {1}, true); }},
        {"max", "axis 1", {{3, 5}}, Domain::any, [](const V& x) { return max(x[0], 1); }},
        {"max", "axis 0 of rank 3, keepdims", {{4, 2, 3}}, Domain::any, [](const V& x) { return max(x[0], 0, true); }},
        {"logsumexp", "axis 1", {{3, 5}}, Domain::any, [](const V& x) { return logsumexp(x[0] * 3.0, 1); }},
        {"log_softmax", "axis -1", {{3, 5}}, Domain::any, [](const V& x) { return log_softmax(x[0], -1); }},
        {"sum_to", "(2,3,4) to (3,1)", {{2, 3, 4}}, Domain::any, [](const V& x) { return sum_to(x[0], {3, 1}); }},
        {"broadcast_to", "(3,1) to (2,3,4)", {{3, 1}}, Domain::any, [](const V& x) { return broadcast_to(x[0], {2, 3, 4}); }},
        // ---- linear algebra ----
        {"matmul", "2-D", {{3, 4}, {4, 5}}, Domain::any, [](const V& x) { return matmul(x[0], x[1]); }},
        {"matmul", "batched with broadcast batch", {{2, 3, 4}, {4, 2}}, Domain::any, [](const V& x) { return matmul(x[0], x[1]); }},
        {"matmul", "batched (2,1,3,4) @ (3,4,2)", {{2, 1, 3, 4}, {3, 4, 2}}, Domain::any,
         [](const V& x) { return matmul(x[0], x[1]); }},
        {"matmul", "vector @ matrix", {{4}, {4, 3}}, Domain::any, [](const V& x) { return matmul(x[0], x[1]); }},
        {"gemm", "aᵀ bᵀ", {{4, 3}, {5, 4}}, Domain::any, [](const V& x) { return gemm(x[0], x[1], true, true); }},
        {"gemm", "a bᵀ", {{3, 4}, {5, 4}}, Domain::any, [](const V& x) { return gemm(x[0], x[1], false, true); }},
        // ---- shape ----
        {"reshape", "(3,4) to (2,6)", {{3, 4}}, Domain::any, [](const V& x) { return reshape(x[0] * x[0], {2, 6}); }},
        {"flatten", "(2,3,2,2) from axis 1", {{2, 3, 2, 2}}, Domain::any, [](const V& x) { return flatten(square(x[0]), 1); }},
        {"permute", "(2,3,4) to (4,2,3)", {{2, 3, 4}}, Domain::any, [](const V& x) { return permute(square(x[0]), {2, 0, 1}); }},
        {"transpose", "last two axes", {{2, 3, 4}}, Domain::any, [](const V& x) { return transpose(square(x[0])); }},
        // float64 -> float32 -> float64 rounds, which no float64 tolerance survives; on the dyadic
        // grid it does not. Inputs, cotangents and step are multiples of 1/16 below 4 or 8 in size
        // (at most 7 significant bits), so every float32 value and product here, forward and
        // backward, first and second order, has at most 21 bits and is exact; the map is quadratic,
        // so central differences with step 1/16 are exact too. Both sides then agree to float64
        // rounding (the checks' default tolerances), and a wrong formula cannot hide in float32 noise.
        {"to_dtype", "float64 -> float32 -> float64", {{3, 4}}, Domain::dyadic,
         [](const V& x) { return to_dtype(square(to_dtype(x[0], Dtype::float32)), Dtype::float64); },
         {.eps = 1.0 / 16, .dyadic = true}},
        // ---- index: concat, stack, slice, index_select and their adjoint ----
        {"concat", "3 inputs along axis 1", {{2, 1, 3}, {2, 2, 3}, {2, 3, 3}}, Domain::any,
         [](const V& x) { return concat({square(x[0]), x[1], x[2]}, 1); }},
        {"concat", "axis -1, same input twice", {{2, 3}}, Domain::any, [](const V& x) { return concat({x[0], square(x[0])}, -1); }},
        {"stack", "new axis 1", {{2, 3}, {2, 3}}, Domain::any, [](const V& x) { return stack({square(x[0]), x[1]}, 1); }},
        {"slice", "step 2 along axis 1", {{2, 7, 3}}, Domain::any, [](const V& x) { return slice(square(x[0]), 1, 1, 6, 2); }},
        {"slice", "leading axis, step 1", {{4, 3}}, Domain::any, [](const V& x) { return slice(square(x[0]), 0, 1, 3); }},
        {"index_select", "repeated indices", {{4, 3}}, Domain::any,
         [](const V& x) { return index_select(square(x[0]), 0, {2, 0, 2, 3}); }},
        {"index_select", "last axis of rank 3", {{2, 3, 4}}, Domain::any,
         [](const V& x) { return index_select(square(x[0]), -1, {3, 1}); }},
        {"index_add", "repeated indices into extent 4", {{3, 2}}, Domain::any,
         [](const V& x) { return index_add(square(x[0]), 0, {1, 3, 1}, 4); }},
        // gather and scatter_add: entries picked (or hit) twice or more, whose gradients add
        {"gather", "axis 0, repeated indices", {{3, 4}}, Domain::any,
         [](const V& x) {
             const IndexTensor index{{0, 1, 2, 0}, {2, 2, 1, 0}, {0, 0, 0, 1}, {1, 2, 2, 2}, {2, 1, 0, 0}};
             return gather(square(x[0]), 0, index);
         }},
        {"gather", "axis -1 of rank 3, repeats", {{2, 3, 4}}, Domain::any,
         [](const V& x) {
             return gather(square(x[0]), -1, IndexTensor{{{3, 3}, {0, 1}, {2, 2}}, {{1, 0}, {3, 1}, {0, 0}}});
         }},
        {"scatter_add", "axis 0, repeated targets", {{4, 3}, {5, 3}}, Domain::any,
         [](const V& x) {
             return scatter_add(square(x[0]), 0, IndexTensor{{1, 0, 3}, {1, 1, 3}, {2, 0, 3}, {1, 3, 0}, {2, 0, 3}},
                                square(x[1]));
         }},
        {"scatter_add", "axis 1 of rank 3, x and src one input", {{2, 4, 3}}, Domain::any,
         [](const V& x) {
             // src = x[:, 1:3, :] squared, scattered back into x along axis 1 (both paths of x's gradient meet)
             return scatter_add(x[0], 1, IndexTensor{{{3, 0, 3}, {3, 3, 1}}, {{0, 2, 2}, {2, 1, 2}}},
                                square(slice(x[0], 1, 1, 3)));
         }},
        // ---- convolution (see Note [Convolution as three linear maps] in conv.cpp) ----
        {"conv2d", "stride 2, padding 1, bias", {{2, 2, 5, 5}, {3, 2, 3, 3}, {3}}, Domain::any,
         [](const V& x) { return conv2d(x[0], x[1], x[2], {.stride = 2, .padding = 1}); }},
        {"conv2d", "no bias, 2x3 kernel on 4x5", {{2, 2, 4, 5}, {3, 2, 2, 3}}, Domain::any,
         [](const V& x) { return conv2d(x[0], x[1], Var()); }},
        {"conv2d", "4x4 kernel, stride 2, padding 1, squared input", {{1, 2, 6, 6}, {2, 2, 4, 4}, {2}}, Domain::any,
         [](const V& x) { return conv2d(square(x[0]), x[1], x[2], {.stride = 2, .padding = 1}); }},
        {"conv2d", "3x3, padding 1, stride 1 (same size)", {{2, 3, 4, 4}, {2, 3, 3, 3}, {2}}, Domain::any,
         [](const V& x) { return conv2d(x[0], x[1], x[2], {.stride = 1, .padding = 1}); }},
        {"conv2d_input_grad", "3x3, padding 1, stride 1 (same size)", {{2, 2, 4, 4}, {2, 3, 3, 3}}, Domain::any,
         [](const V& x) { return conv2d_input_grad(x[0], x[1], {2, 3, 4, 4}, {.stride = 1, .padding = 1}); }},
        {"conv2d_input_grad", "stride 2, padding 1", {{2, 3, 3, 3}, {3, 2, 3, 3}}, Domain::any,
         [](const V& x) { return conv2d_input_grad(x[0], x[1], {2, 2, 5, 5}, {.stride = 2, .padding = 1}); }},
        {"conv2d_weight_grad", "stride 2, padding 1", {{2, 2, 5, 5}, {2, 3, 3, 3}}, Domain::any,
         [](const V& x) { return conv2d_weight_grad(x[0], x[1], {3, 2, 3, 3}, {.stride = 2, .padding = 1}); }},
        // ---- normalisation, pooling ----
        {"group_norm", "2 groups of 2 channels, weight and bias", {{2, 4, 3, 3}, {4}, {4}}, Domain::any,
         [](const V& x) { return group_norm(x[0], 2, x[1], x[2]); }},
        {"group_norm", "rank 3, no affine, 3 groups", {{2, 6, 5}}, Domain::any,
         [](const V& x) { return group_norm(x[0], 3, Var(), Var()); }},
        {"avg_pool2d", "kernel 3, stride 2 (overlapping)", {{2, 2, 5, 5}}, Domain::any,
         [](const V& x) { return avg_pool2d(square(x[0]), 3, 2); }},
        {"avg_pool2d", "kernel 2, stride 2", {{1, 2, 4, 4}}, Domain::any, [](const V& x) { return avg_pool2d(x[0], 2, 2); }},
        {"avg_pool2d_backward", "kernel 3, stride 2", {{2, 2, 2, 2}}, Domain::any,
         [](const V& x) { return avg_pool2d_backward(square(x[0]), 3, 2, {2, 2, 5, 5}); }},
        // ---- losses ----
        {"gaussian_log_density", "rank 3", {{3, 2, 2}}, Domain::any, [](const V& x) { return gaussian_log_density(x[0]); }},
        {"gaussian_log_density", "rank 1", {{4}}, Domain::any, [](const V& x) { return gaussian_log_density(x[0]); }},
    };
    return cases;
}

}  // namespace odenet::testing
