#include "odenet/nn/augment.hpp"

#include <limits>

#include "odenet/autodiff/ops.hpp"
#include "odenet/core/error.hpp"

namespace odenet::nn {

Var append_zeros(const Var& x, std::size_t p, const std::string& who) {
    if (p == 0) return x;
    // No real count of extra features comes near 2^63; a value there is a negative int converted.
    if (p > std::numeric_limits<std::size_t>::max() / 2)
        throw ValueError(who, "augment = " + std::to_string(p) +
                                  " is a count of zero features; this looks like a negative value converted");
    if (x.dim() < 2)
        throw ShapeError(who, "augment = " + std::to_string(p) + " appends along axis 1 and needs a state "
                              "(batch, features) or (batch, channels, H, W), got shape " + shape_str(x.shape()));
    Shape zeros_shape = x.shape();
    zeros_shape[1] = p;
    return concat({x, zeros(zeros_shape, x.dtype())}, 1);
}

std::string augmentation_note(const Shape& x_shape, std::size_t p) {
    if (p == 0 || x_shape.size() < 2) return "";
    return " (x of shape " + shape_str(x_shape) + " augmented by p = " + std::to_string(p) +
           " zeros along axis 1: the dynamics must take and return " + std::to_string(x_shape[1] + p) +
           " features or channels there)";
}

ode::Dynamics shape_checked(ode::Dynamics f, const Shape& x_shape, std::size_t p, const std::string& who) {
    return [f = std::move(f), p, who, note = augmentation_note(x_shape, p)](const Var& t, const Var& h) {
        Var out;
        try {
            out = f(t, h);
        } catch (const ShapeError& e) {
            if (p == 0) throw;
            throw ShapeError(who, std::string("the dynamics failed on the state of shape ") + shape_str(h.shape()) + note +
                                      ": " + e.what());
        }
        if (out.shape() != h.shape())
            throw ShapeError(who, "the dynamics returned shape " + shape_str(out.shape()) + " for a state of shape " +
                                      shape_str(h.shape()) + note);
        return out;
    };
}

Var drop_augmented(const Var& ys, std::size_t d) { return slice(ys, 2, 0, d); }

}  // namespace odenet::nn
