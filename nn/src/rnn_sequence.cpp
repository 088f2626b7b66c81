#include "odenet/nn/rnn_sequence.hpp"

#include <string>

#include <xtensor/xbuilder.hpp>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn {

namespace {

constexpr const char* kWhere = "run_sequence";

// The mask's entries as 0/1 bytes, row-major (time, batch), after checking its shape and values.
std::vector<unsigned char> read_mask(const Var& mask, std::size_t time, std::size_t batch) {
    std::vector<unsigned char> out(time * batch, 1);
    if (!mask.defined()) return out;
    if (mask.shape() != Shape{time, batch}) {
        throw ShapeError(kWhere, "mask must be (time = " + std::to_string(time) + ", batch = " + std::to_string(batch) +
                                     ") like x's first two axes, got " + shape_str(mask.shape()));
    }
    auto read = [&](const auto& m) {
        for (std::size_t k = 0; k < out.size(); ++k) {
            const double v = static_cast<double>(m.data()[k]);
            if (v != 0.0 && v != 1.0) {
                throw ValueError(kWhere, "mask entries must be 0 or 1, got " + std::to_string(v) + " at (" +
                                             std::to_string(k / batch) + ", " + std::to_string(k % batch) + ")");
            }
            out[k] = v == 1.0;
        }
    };
    if (mask.dtype() == Dtype::float32) {
        read(mask.value<float>());
    } else {
        read(mask.value<double>());
    }
    return out;
}

Var check_initial(const Var& v, const char* what, const RecurrentCell& cell, std::size_t batch) {
    if (!v.defined()) return zeros({batch, cell.hidden_size()}, cell.dtype());
    if (v.shape() != Shape{batch, cell.hidden_size()}) {
        throw ShapeError(kWhere, std::string("initial ") + what + " must be (batch = " + std::to_string(batch) +
                                     ", hidden_size = " + std::to_string(cell.hidden_size()) + "), got " +
                                     shape_str(v.shape()));
    }
    return v;
}

// Column t of the mask as a (batch, 1) constant in `dtype`, which broadcasts over features.
Var step_mask(const std::vector<unsigned char>& m, std::size_t t, std::size_t batch, Dtype dtype) {
    Tensor<double> col = Tensor<double>::from_shape({batch, 1});
    for (std::size_t b = 0; b < batch; ++b) col(b, 0) = m[t * batch + b];
    return to_dtype(Var(std::move(col)), dtype);
}

}  // namespace

SequenceResult run_sequence(RecurrentCell& cell, const Var& x, const Var& mask, const CellState& initial,
                            SequenceOptions options) {
    if (!x.defined() || x.dim() != 3 || x.shape()[2] != cell.input_size()) {
        throw ShapeError(kWhere, "x must be (time, batch, input_size = " + std::to_string(cell.input_size()) +
                                     "), got " + (x.defined() ? shape_str(x.shape()) : std::string("undefined")));
    }
    if (x.dtype() != cell.dtype()) {
        throw DtypeError(kWhere, std::string("x is ") + dtype_name(x.dtype()) + " but the cell's parameters are " +
                                     dtype_name(cell.dtype()) + " (convert the cell with to())");
    }
    const std::size_t time = x.shape()[0], batch = x.shape()[1], features = x.shape()[2];
    const std::vector<unsigned char> m = read_mask(mask, time, batch);
    CellState state{check_initial(initial.h, "h", cell, batch), {}};
    if (cell.has_cell_state()) state.c = check_initial(initial.c, "c", cell, batch);
    if (time == 0) return {zeros({0, batch, cell.hidden_size()}, cell.dtype()), state};

    std::vector<Var> outputs(time);
    for (std::size_t k = 0; k < time; ++k) {
        const std::size_t t = options.reverse ? time - 1 - k : k;
        std::size_t real = 0;
        for (std::size_t b = 0; b < batch; ++b) real += m[t * batch + b];
        if (real > 0) {
            Var x_t = reshape(slice(x, 0, t, t + 1), {batch, features});
            if (real == batch) {
                state = cell.step(x_t, state);
            } else {
                // Padding is replaced by zeros before the cell, so that a NaN there cannot reach a
                // gradient through 0·NaN; where() then keeps the old state exactly.
                const Var keep = step_mask(m, t, batch, x.dtype());
                x_t = where(keep, x_t, zeros({1}, x.dtype()));
                const CellState next = cell.step(x_t, state);
                state.h = where(keep, next.h, state.h);
                if (state.c.defined()) state.c = where(keep, next.c, state.c);
            }
        }  // a step with no real entry leaves every state as it is: the cell is not run
        outputs[t] = state.h;
    }
    return {stack(outputs, 0), state};
}

Var mask_from_lengths(const std::vector<std::size_t>& lengths, std::size_t time, Dtype dtype) {
    const std::size_t batch = lengths.size();
    Tensor<double> m = xt::zeros<double>({time, batch});
    for (std::size_t b = 0; b < batch; ++b) {
        if (lengths[b] > time) {
            throw ValueError("mask_from_lengths", "length " + std::to_string(lengths[b]) + " of sequence " +
                                                      std::to_string(b) + " exceeds time = " + std::to_string(time));
        }
        for (std::size_t t = 0; t < lengths[b]; ++t) m(t, b) = 1.0;
    }
    return to_dtype(Var(std::move(m)), dtype);
}

}  // namespace odenet::nn
