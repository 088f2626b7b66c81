# odenet_component(NAME [OPTIONAL] DEPENDS other components... [PUBLIC_LIBS libs...] [PRIVATE_LIBS libs...])
# One compiled static library per top-level folder: NAME/include holds its public headers,
# NAME/src its sources (found by glob so that adding a file needs no CMake edit).
# A component is listed in ODENET_COMPONENTS, which odenet::odenet links; an OPTIONAL one (util)
# in ODENET_OPTIONAL_COMPONENTS instead: installed with its own export set, so that the package
# config loads it, and finds its dependencies, only when a user asks for it by name.
set(ODENET_COMPONENTS "" CACHE INTERNAL "")
set(ODENET_OPTIONAL_COMPONENTS "" CACHE INTERNAL "")
function(odenet_component name)
  cmake_parse_arguments(ARG "OPTIONAL" "" "DEPENDS;PUBLIC_LIBS;PRIVATE_LIBS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  if(NOT sources)
    return()  # a component with no sources yet builds nothing
  endif()
  set(target odenet_${name})
  add_library(${target} STATIC ${sources})
  add_library(odenet::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON EXPORT_NAME ${name})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  set(deps)
  foreach(dep ${ARG_DEPENDS})
    list(APPEND deps odenet_${dep})
  endforeach()
  target_link_libraries(${target} PUBLIC ${deps} odenet_options ${ARG_PUBLIC_LIBS}
                                   PRIVATE $<BUILD_INTERFACE:odenet_warnings> ${ARG_PRIVATE_LIBS})
  if(ARG_OPTIONAL)
    set(ODENET_OPTIONAL_COMPONENTS ${ODENET_OPTIONAL_COMPONENTS} ${target} CACHE INTERNAL "")
  else()
    set(ODENET_COMPONENTS ${ODENET_COMPONENTS} ${target} CACHE INTERNAL "")
  endif()
endfunction()
