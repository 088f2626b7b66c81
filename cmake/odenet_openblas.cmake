# odenet::OpenBLAS: OpenBLAS as a target, made from what find_package(OpenBLAS) reported on the
# machine that runs this file. odenet::core links this name, never a path, so that its exported
# link line reads "odenet::OpenBLAS" and not the build machine's libopenblas.so. Included twice:
# by odenet's own CMakeLists.txt after find_package(OpenBLAS), and, installed beside the package
# config, by odenetConfig.cmake after find_dependency(OpenBLAS), so a consumer links the OpenBLAS
# of its own machine.
# OpenBLAS's CMake config reports variables (Debian 12's 0.3.21: OpenBLAS_LIBRARIES and
# OpenBLAS_INCLUDE_DIRS, absolute paths); newer ones also define the target OpenBLAS::OpenBLAS,
# which is used when there. Include directories of an imported target reach its users as system
# ones, as odenet's own build had them.
if(NOT TARGET odenet::OpenBLAS)
  add_library(odenet::OpenBLAS INTERFACE IMPORTED)
  if(TARGET OpenBLAS::OpenBLAS)
    set_target_properties(odenet::OpenBLAS PROPERTIES INTERFACE_LINK_LIBRARIES OpenBLAS::OpenBLAS)
  else()
    set_target_properties(odenet::OpenBLAS PROPERTIES
      INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}"
      INTERFACE_INCLUDE_DIRECTORIES "${OpenBLAS_INCLUDE_DIRS}")
  endif()
endif()
