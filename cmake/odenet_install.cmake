# `cmake --install build --prefix P` then, in a user's project, find_package(odenet) and
# target_link_libraries(app odenet::odenet).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS odenet odenet_options ${ODENET_COMPONENTS} EXPORT odenetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(component ${ODENET_COMPONENTS})
  string(REPLACE "odenet_" "" folder ${component})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${folder}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT odenetTargets NAMESPACE odenet:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/odenet)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/odenetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/odenetConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/odenet)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/odenetConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/odenetConfig.cmake ${PROJECT_BINARY_DIR}/odenetConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/odenet)
