#pragma once
#include "odenet/autodiff/anomaly_mode.hpp"
#include "odenet/autodiff/engine.hpp"
#include "odenet/autodiff/grad_mode.hpp"
#include "odenet/autodiff/graph_leaves.hpp"
#include "odenet/autodiff/jacobian.hpp"
#include "odenet/autodiff/ops.hpp"
#include "odenet/autodiff/var.hpp"
