#include "odenet/optim/optimizer.hpp"

#include "odenet/autodiff/anomaly_mode.hpp"

#include <cmath>
#include <set>

#include <xtensor/xarray.hpp>

#include "odenet/core/error.hpp"

namespace odenet::optim {

Optimizer::Optimizer(std::vector<Var> params, double lr) : Optimizer(std::move(params), lr, {}) {}

Optimizer::Optimizer(std::vector<Var> params, double lr, std::vector<std::string> slot_names)
    : params_(std::move(params)), slot_names_(std::move(slot_names)) {
    if (params_.empty()) throw ValueError("Optimizer", "got an empty parameter list");
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (!params_[i].defined()) throw ValueError("Optimizer", "parameter " + std::to_string(i) + " is undefined");
        if (!params_[i].is_leaf()) throw ValueError("Optimizer", "parameter " + std::to_string(i) + " is not a leaf");
    }
    set_lr(lr);
    slots_.assign(params_.size(), std::vector<Value>(slot_names_.size()));
    steps_.assign(params_.size(), 0);
}

void Optimizer::zero_grad() {
    for (Var& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
    if (!(lr >= 0.0) || !std::isfinite(lr)) throw ValueError("Optimizer", "invalid learning rate " + std::to_string(lr));
    lr_ = lr;
}

void Optimizer::check_grad(std::size_t i) const {
    const Var& p = params_[i];
    const Var& g = p.grad();
    if (g.dtype() != p.dtype() || g.shape() != p.shape()) {
        throw ShapeError("Optimizer::step", "parameter " + std::to_string(i) + " is " + dtype_name(p.dtype()) + " " +
                                                shape_str(p.shape()) + " but its gradient is " + dtype_name(g.dtype()) +
                                                " " + shape_str(g.shape()));
    }
}

void Optimizer::check_grads_finite() const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Var& g = params_[i].grad();
        if (!g.defined()) continue;
        if (const auto bad = first_nonfinite(g.value())) {
            throw ValueError("Optimizer::step", "the gradient of parameter " + std::to_string(i) + " (shape " +
                                                    shape_str(params_[i].shape()) + ") holds " +
                                                    describe_nonfinite(g.value(), *bad) +
                                                    "; the step was refused and no parameter changed (DetectAnomalyGuard "
                                                    "names the op that produced it; set_check_finite(false) allows it)");
        }
    }
}

void Optimizer::match_dtype(std::size_t i) {
    const Dtype dtype = params_[i].dtype();
    for (Value& v : slots_[i]) {
        if (!v.defined() || v.dtype() == dtype) continue;
        v = v.visit([&](const auto& t) -> Value {
            if (dtype == Dtype::float32) return Value(Tensor<float>(xt::cast<float>(t)));
            return Value(Tensor<double>(xt::cast<double>(t)));
        });
    }
}

namespace {
Value scalar_value(double x) { return Value(Tensor<double>(x)); }

// "state.<i>.<name>" -> (i, name); false if the key is not of that form.
bool parse_key(const std::string& key, std::size_t& i, std::string& name) {
    if (key.rfind("state.", 0) != 0) return false;
    const std::size_t dot = key.find('.', 6);
    if (dot == std::string::npos || dot == 6) return false;
    const std::string digits = key.substr(6, dot - 6);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return false;
    i = std::stoul(digits);
    name = key.substr(dot + 1);
    return true;
}
}  // namespace

NamedTensors Optimizer::state_dict() const {
    NamedTensors out;
    out.emplace_back("lr", scalar_value(lr_));
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const std::string prefix = "state." + std::to_string(i) + ".";
        if (steps_[i] > 0) out.emplace_back(prefix + "step", scalar_value(static_cast<double>(steps_[i])));
        for (std::size_t k = 0; k < slot_names_.size(); ++k) {
            if (slots_[i][k].defined()) out.emplace_back(prefix + slot_names_[k], slots_[i][k].clone());
        }
    }
    return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
    // Validate into temporaries; assign only when every entry is good.
    double lr = lr_;
    std::vector<std::vector<Value>> slots(params_.size(), std::vector<Value>(slot_names_.size()));
    std::vector<long> steps(params_.size(), 0);
    std::set<std::string> seen;
    for (const auto& entry : state) {
        // Named references, not a structured binding: clang before 16 cannot capture those.
        const std::string& key = entry.first;
        const auto& value = entry.second;
        auto bad = [&](const std::string& why) { return ValueError("Optimizer::load_state_dict", "'" + key + "' " + why); };
        if (!seen.insert(key).second) throw bad("appears twice");
        const bool scalar64 = value.dtype() == Dtype::float64 && value.size() == 1 && value.shape().empty();
        if (key == "lr") {
            if (!scalar64) throw bad("must be a float64 scalar");
            lr = value.as<double>()();
            if (!(lr >= 0.0) || !std::isfinite(lr)) throw bad("is not a valid learning rate");
            continue;
        }
        std::size_t i = 0;
        std::string name;
        if (!parse_key(key, i, name)) throw bad("is not an optimizer state name");
        if (i >= params_.size()) throw bad("names parameter " + std::to_string(i) + " of " + std::to_string(params_.size()));
        if (name == "step") {
            const double s = scalar64 ? value.as<double>()() : -1.0;
            if (!(s >= 0.0) || s != std::floor(s)) throw bad("must be a non-negative integer float64 scalar");
            steps[i] = static_cast<long>(s);
            continue;
        }
        std::size_t k = 0;
        while (k < slot_names_.size() && slot_names_[k] != name) ++k;
        if (k == slot_names_.size()) throw bad("is not a state of this optimizer");
        const Var& p = params_[i];
        if (value.shape() != p.shape()) {
            throw bad("has shape " + shape_str(value.shape()) + ", expected " + shape_str(p.shape()));
        }
        if (value.dtype() != p.dtype()) {
            throw bad(std::string("is ") + dtype_name(value.dtype()) + ", expected " + dtype_name(p.dtype()));
        }
        slots[i][k] = value.clone();
    }
    for (std::size_t i = 0; i < params_.size(); ++i) {
        std::size_t present = 0;
        for (const Value& v : slots[i]) present += v.defined() ? 1 : 0;
        if (present != 0 && present != slot_names_.size()) {
            throw ValueError("Optimizer::load_state_dict", "parameter " + std::to_string(i) + " has only some of its state");
        }
    }
    lr_ = lr;
    slots_ = std::move(slots);
    steps_ = std::move(steps);
}

}  // namespace odenet::optim
