#pragma once
#include "odenet/core/blas_info.hpp"
#include "odenet/core/conv2d.hpp"
#include "odenet/core/error.hpp"
#include "odenet/core/group_norm.hpp"
#include "odenet/core/random.hpp"
#include "odenet/core/shape.hpp"
#include "odenet/core/tensor.hpp"
