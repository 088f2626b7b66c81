// Matrix products through odenet::gemm (our kernel or OpenBLAS's, per shape: Note [Which GEMM
// kernel] in core/src/gemm.cpp). gemm(a, b, ta, tb) = op(a) @ op(b) is the primitive: transposes are flags, never
// copies, and the backward of a gemm is two more gemms.

#include "dispatch.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/record.hpp"
#include "odenet/core/gemm.hpp"
#include "odenet/core/shape.hpp"

namespace odenet {

namespace {

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

// Offset of batch entry `flat` (of the broadcast batch shape) in an operand with batch shape
// `own` (right-aligned, extent-1 axes repeat).
std::size_t batch_offset(std::size_t flat, const Shape& batch, const Shape& own, std::size_t matrix_size) {
    std::size_t offset = 0, stride = matrix_size;
    for (std::size_t i = batch.size(); i-- > 0;) {
        const std::size_t idx = flat % batch[i];
        flat /= batch[i];
        const std::size_t j = i + own.size();
        if (j >= batch.size()) {
            const std::size_t extent = own[j - batch.size()];
            if (extent != 1) offset += idx * stride;
            stride *= extent;
        }
    }
    return offset;
}

template <class T>
Tensor<T> gemm_forward(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t ra = sa.size(), rb = sb.size();
    const std::size_t m = ta ? sa[ra - 1] : sa[ra - 2], ka = ta ? sa[ra - 2] : sa[ra - 1];
    const std::size_t kb = tb ? sb[rb - 1] : sb[rb - 2], n = tb ? sb[rb - 2] : sb[rb - 1];
    if (ka != kb) {
        throw ShapeError("matmul", std::string("inner dimensions differ: ") + shape_str(sa) + (ta ? "ᵀ" : "") + " @ " +
                                       shape_str(sb) + (tb ? "ᵀ" : "") + " (" + std::to_string(ka) + " vs " +
                                       std::to_string(kb) + ")");
    }
    const Shape ba = batch_of(sa), bb = batch_of(sb);
    const Shape batch = broadcast_shape(ba, bb, "matmul");
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    Tensor<T> c = Tensor<T>::from_shape(out_shape);
    if (c.size() == 0) return c;
    if (ka == 0) {
        c.fill(T(0));
        return c;
    }
    const std::size_t count = numel(batch);
    const std::size_t size_a = sa[ra - 2] * sa[ra - 1], size_b = sb[rb - 2] * sb[rb - 1];
    for (std::size_t i = 0; i < count; ++i) {
        gemm(ta, tb, m, n, ka, a.data() + batch_offset(i, batch, ba, size_a), sa[ra - 1],
             b.data() + batch_offset(i, batch, bb, size_b), sb[rb - 1], T(0), c.data() + i * m * n, n);
    }
    return c;
}

}  // namespace

// C = op(A) op(B):  dop(A) = G op(B)ᵀ,  dop(B) = op(A)ᵀ G;  transposed back where op transposed.
Var gemm(const Var& a, const Var& b, bool ta, bool tb) {
    if (a.dim() < 2 || b.dim() < 2) {
        throw ShapeError("gemm", "operands need rank >= 2, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
    }
    Value y = ops::map_values(a, b, "matmul", [&](const auto& x, const auto& z) { return gemm_forward(x, z, ta, tb); });
    return record("gemm", std::move(y), {&a, &b},
                  [a = SavedVar(a, 0), b = SavedVar(b, 1), ta, tb](const Var& g, const BackwardContext& ctx) -> Grads {
                      Var ga, gb;
                      if (ctx.needs(0)) ga = ta ? gemm(b.unpack(ctx), g, tb, true) : gemm(g, b.unpack(ctx), false, !tb);
                      if (ctx.needs(1)) gb = tb ? gemm(g, a.unpack(ctx), true, ta) : gemm(a.unpack(ctx), g, !ta, false);
                      return {ga, gb};
                  });
}

Var matmul(const Var& a, const Var& b) {
    if (a.dim() == 0 || b.dim() == 0) {
        throw ShapeError("matmul", "operands must have rank >= 1, got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
    }
    const bool a_vector = a.dim() == 1, b_vector = b.dim() == 1;
    Var a2 = a_vector ? reshape(a, {1, a.shape()[0]}) : a;
    Var b2 = b_vector ? reshape(b, {b.shape()[0], 1}) : b;
    Var c = gemm(a2, b2, false, false);
    if (!a_vector && !b_vector) return c;
    Shape s(c.shape().begin(), c.shape().end() - 2);
    if (!a_vector) s.push_back(c.shape()[c.dim() - 2]);
    if (!b_vector) s.push_back(c.shape()[c.dim() - 1]);
    return reshape(c, s);
}

}  // namespace odenet
