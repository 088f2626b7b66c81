#pragma once
// Checkpoints: a module's parameters and buffers, and optionally an optimizer's state, in one
// NumPy .npz file (see npz.hpp). Entries are named as named_parameters()/named_buffers()
// ("l1.weight", "bn.running_mean"); the optimizer's entries are prefixed "optimizer."
// ("optimizer.lr", "optimizer.state.0.exp_avg"; see optim/optimizer.hpp). In Python:
//     d = numpy.load("model.npz"); d["l1.weight"]
//
// Saving is atomic (temporary file, fsync, rename). Loading reads and validates everything
// first: every name the module has must be present with the same shape and dtype, and no other
// name may appear (besides "optimizer." entries when no optimizer is loaded); only then are
// values assigned, so a failed load leaves the module and optimizer untouched. Every failure is
// an IOError naming the file and the problem.
#include <string>

#include "odenet/nn/module.hpp"
#include "odenet/nn/npz.hpp"
#include "odenet/optim/optimizer.hpp"

namespace odenet::nn {

/// The module's parameters then buffers, by name, as the values to save (shared, not copied).
NamedValues state_dict(const Module& module);

void save(const Module& module, const std::string& path);
void save(const Module& module, const optim::Optimizer& optimizer, const std::string& path);
void load(Module& module, const std::string& path);
void load(Module& module, optim::Optimizer& optimizer, const std::string& path);

}  // namespace odenet::nn
