#pragma once
// Augmentation of an ODE's state (Augmented Neural ODEs, Dupont, Doucet and Teh, NeurIPS 2019):
// the solve starts from [x, 0], x with p zero features (dense, (batch, d) -> (batch, d + p)) or
// zero channels (convolutional, (batch, C, H, W) -> (batch, C + p, H, W)) appended along axis 1,
// so that the flow may move the classes apart through the p extra dimensions instead of through
// each other. ODEBlock's `.augment` and nn::odeint's Augment overloads both go through the
// functions here, so the zeros, the checks and the messages are the same for both.
#include <cstddef>
#include <string>

#include "odenet/autodiff/var.hpp"
#include "odenet/odeint/odeint.hpp"

namespace odenet::nn {

/// The augmentation option of nn::odeint: p zero features or channels appended along axis 1 of
/// y0 before the solve; with `drop`, removed again from every returned state.
struct Augment {
    /// A count: `Augment{-1}` does not compile (narrowing), and a negative value converted later
    /// wraps to >= 2^63, which is refused with ValueError.
    std::size_t p = 0;
    bool drop = false;
};

/// [x, zeros] along axis 1; x itself for p = 0. The zeros are constants, so gradients reach x
/// through concat's backward and nothing else. `who` starts the messages ("ODEBlock",
/// "nn::odeint"). ValueError for p >= 2^63 (a negative value converted); ShapeError naming p and
/// x's shape when x has no axis 1 (dim < 2).
Var append_zeros(const Var& x, std::size_t p, const std::string& who);

/// " (x of shape (4, 3) augmented by p = 2 zeros along axis 1: the dynamics must take and return
/// 5 features or channels there)", for messages about a dynamics that does not fit the augmented
/// state; "" for p = 0.
std::string augmentation_note(const Shape& x_shape, std::size_t p);

/// f wrapped so that a dynamics that does not fit the state fails naming `who`, p and x's shape,
/// rather than as the solver's "shape mismatch" SolverError (or a layer's ShapeError) far from the
/// forgotten widening: ShapeError when f returns another shape than the state, and, for p > 0,
/// when f throws ShapeError on the augmented state (its message kept after ours).
ode::Dynamics shape_checked(ode::Dynamics f, const Shape& x_shape, std::size_t p, const std::string& who);

/// States ys (T, batch, d + p, ...) from a solve started at append_zeros(x, p): the first d
/// features or channels of each (axis 2), i.e. (T, batch, d, ...).
Var drop_augmented(const Var& ys, std::size_t d);

}  // namespace odenet::nn
