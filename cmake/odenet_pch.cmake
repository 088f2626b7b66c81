# odenet_precompile_all(): one precompiled header, reused by every compiled target of the build.
# Nearly every source file includes xtensor (through tensor.hpp) and several of its headers; on
# this machine that was about 6 s of parsing per file, for some 160 files, before any of our code
# was compiled. The precompiled header holds only third-party and standard headers, which change
# with the packages, not with our edits, so editing odenet never rebuilds it.
#
# GCC uses a precompiled header only when the flags that shape code match the ones it was built
# with, and the libraries are compiled position-independent (-fPIC) while programs are not (-fPIE,
# Debian's default): so there are two, one per kind, each built once. Configure with
# -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON to compile each file from its own includes, which is how
# to check that a file includes what it uses.
set(odenet_pch_headers
  <algorithm> <cmath> <cstddef> <functional> <memory> <string> <utility> <vector>
  <xsimd/xsimd.hpp> <xtensor/xarray.hpp> <xtensor/xbuilder.hpp> <xtensor/xmath.hpp> <xtensor/xview.hpp>)

# The directory's compiled targets and those of every directory below it.
function(odenet_compiled_targets dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  set(result)
  foreach(target ${targets})
    get_target_property(type ${target} TYPE)
    if(type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      list(APPEND result ${target})
    endif()
  endforeach()
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub ${subdirs})
    odenet_compiled_targets(${sub} sub_targets)
    list(APPEND result ${sub_targets})
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

function(odenet_precompile_all)
  if(CMAKE_DISABLE_PRECOMPILE_HEADERS)
    return()
  endif()
  odenet_compiled_targets(${PROJECT_SOURCE_DIR} targets)
  add_library(odenet_pch_library OBJECT ${PROJECT_SOURCE_DIR}/cmake/odenet_pch.cpp)
  set_target_properties(odenet_pch_library PROPERTIES POSITION_INDEPENDENT_CODE ON)
  add_executable(odenet_pch_program ${PROJECT_SOURCE_DIR}/cmake/odenet_pch_main.cpp)
  foreach(pch odenet_pch_library odenet_pch_program)
    target_link_libraries(${pch} PRIVATE odenet_options xtensor)
    target_precompile_headers(${pch} PRIVATE ${odenet_pch_headers})
  endforeach()
  foreach(target ${targets})
    get_target_property(pic ${target} POSITION_INDEPENDENT_CODE)
    if(pic)
      target_precompile_headers(${target} REUSE_FROM odenet_pch_library)
    else()
      target_precompile_headers(${target} REUSE_FROM odenet_pch_program)
    endif()
  endforeach()
endfunction()
