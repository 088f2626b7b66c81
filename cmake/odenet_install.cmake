# `cmake --install build --prefix P` then, in a user's project, find_package(odenet) and
# target_link_libraries(app odenet::odenet); find_package(odenet COMPONENTS util) adds odenet::util.
# The always-present components share one export set (odenetTargets); each optional one has its
# own (odenet-utilTargets), which the package config includes only when the component is asked
# for, after finding the packages its targets name (PNG::PNG, ZLIB::ZLIB).
# The exported targets name their dependencies by target (xtensor, xtensor-blas, odenet::OpenBLAS,
# ZLIB::ZLIB), never by a path of the build machine: the package config finds them on the
# consumer's machine, and odenet_openblas.cmake, installed beside it, makes odenet::OpenBLAS there.
# tests/install_consumer checks all of this from an installed prefix (ctest -L install).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/odenet)
install(TARGETS odenet odenet_options ${ODENET_COMPONENTS} EXPORT odenetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(component ${ODENET_COMPONENTS} ${ODENET_OPTIONAL_COMPONENTS})
  string(REPLACE "odenet_" "" folder ${component})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_BINARY_DIR}/generated/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT odenetTargets NAMESPACE odenet:: DESTINATION ${config_dir})
foreach(component ${ODENET_OPTIONAL_COMPONENTS})
  string(REPLACE "odenet_" "" name ${component})
  install(TARGETS ${component} EXPORT odenet-${name}Targets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(EXPORT odenet-${name}Targets NAMESPACE odenet:: DESTINATION ${config_dir})
endforeach()

# Names a user may list after COMPONENTS that are always there (core, autodiff, ode, odeint, nn).
string(REPLACE "odenet_" "" ODENET_COMPONENT_NAMES "${ODENET_COMPONENTS}")
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/odenetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/odenetConfig.cmake INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/odenetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/odenetConfig.cmake ${PROJECT_BINARY_DIR}/odenetConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/odenet_openblas.cmake
        DESTINATION ${config_dir})
