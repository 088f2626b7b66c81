#pragma once
// odenet::util, the optional component the examples are written over: dataset readers, PNG
// images and plots, a progress bar and a CSV log. Link odenet::util (find_package(odenet
// COMPONENTS util)); odenet.hpp does not include this.
#include "odenet/util/csv_log.hpp"
#include "odenet/util/idx.hpp"
#include "odenet/util/plot.hpp"
#include "odenet/util/png_image.hpp"
#include "odenet/util/progress.hpp"
#include "odenet/util/toy_data.hpp"
