# The install test (ctest -L install), run as
#   cmake -DODENET_BINARY_DIR=<odenet build> -DODENET_SOURCE_DIR=<odenet source>
#         -DCONSUMER_SOURCE_DIR=<this folder> -DWORK_DIR=<scratch>
#         -DCONFIG=<Release...> -DGENERATOR=<generator> -DCXX_COMPILER=<c++>
#         [-DCXX_COMPILER_LAUNCHER=<ccache>] -P run.cmake
# (tests/CMakeLists.txt passes odenet's own build settings, so the consumer is compiled by the
# same compiler and generator). Steps, each failing the test with its output:
#   1. `cmake --install` the odenet build into WORK_DIR/prefix (emptied first: a file the build
#      no longer installs must not linger and hide a missing install rule); check that no
#      installed *.cmake file names a library or header path of this machine or odenet's trees;
#   2. configure the consumer with -DCMAKE_PREFIX_PATH=WORK_DIR/prefix (package registry off) and
#      check that odenet was found there, not somewhere else on the system;
#   3. build it and run it with WORK_DIR/out as its output folder; check its last line, the CSV
#      header and the PNG signature;
#   4. hide the installed util targets file, as in an odenet built with ODENET_BUILD_UTIL=OFF,
#      and check that find_package(odenet REQUIRED COMPONENTS util) then fails with our message;
#   6. when odenet::distributed was built (MPIEXEC given): configure a consumer that asks for it,
#      build it and run it on 2 ranks under MPIEXEC;
#   5. with a FindPNG module that fails when run, check that find_package(odenet REQUIRED
#      COMPONENTS ode) configures (it must not look for util's packages) and that asking for util
#      does look for PNG (so that the first check can see something).
# ccache as the consumer's launcher (when odenet's build uses it) is safe: it hashes the installed
# headers' contents, so a reinstalled header that changed is a miss.
cmake_minimum_required(VERSION 3.20)

foreach(var ODENET_BINARY_DIR ODENET_SOURCE_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: -D${var}=... is required")
  endif()
endforeach()
if("${CONFIG}" STREQUAL "")
  set(CONFIG Release)  # a build without CMAKE_BUILD_TYPE; the consumer's type only affects flags
endif()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
set(out ${WORK_DIR}/out)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# run(<step name> <command...>): runs the command, fails the test with its output on a non-zero
# exit code, and leaves the output in step_output.
function(run step)
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
  string(TIMESTAMP stop "%s")
  math(EXPR seconds "${stop} - ${start}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "install test: ${step} failed (${rc}):\n${output}")
  endif()
  message(STATUS "install test: ${step} (${seconds} s)")
  set(step_output "${output}" PARENT_SCOPE)
endfunction()

set(configure_args -G "${GENERATOR}" -DCMAKE_BUILD_TYPE=${CONFIG} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(NOT "${CXX_COMPILER_LAUNCHER}" STREQUAL "")
  list(APPEND configure_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER})
endif()

# 1. Install.
run("cmake --install into ${prefix}"
    ${CMAKE_COMMAND} --install ${ODENET_BINARY_DIR} --prefix ${prefix} --config ${CONFIG})

# 1b. The installed CMake files name no file of the build machine: a library or header folder
# under /usr/lib, /usr/include or /lib (where this machine's OpenBLAS, zlib and libpng live), or
# in odenet's build or source tree, would be wrong on a consumer's machine, whose dependencies
# are found when it configures (find_dependency in odenetConfig.cmake). Each file is cut into
# tokens at the characters that delimit a path in CMake code (quotes, list separators,
# generator expressions), after every variable reference has become a word, so that
# ${_IMPORT_PREFIX}/lib/libodenet_core.a is not read as /lib/...; the one absolute path allowed
# is the package's own config folder, which configure_package_config_file may name to
# recognise an install that was not moved.
file(GLOB_RECURSE installed_cmake_files ${prefix}/*.cmake)
if(NOT installed_cmake_files)
  message(FATAL_ERROR "install test: no *.cmake file under ${prefix}; the path check would see nothing")
endif()
file(REAL_PATH "${ODENET_BINARY_DIR}" real_binary_dir)
set(machine_roots /usr/lib /usr/lib64 /usr/include /lib /lib64
    ${ODENET_BINARY_DIR} ${real_binary_dir} ${ODENET_SOURCE_DIR})
list(REMOVE_DUPLICATES machine_roots)
set(machine_paths)
foreach(cmake_file IN LISTS installed_cmake_files)
  file(READ ${cmake_file} text)
  string(REGEX REPLACE "\\$\\{[A-Za-z0-9_]*\\}" "VAR" text "${text}")  # ${_IMPORT_PREFIX}/lib is relative
  string(REGEX REPLACE "[][ \t\r\n\"\\'(),;:=<>{}]+" ";" tokens "${text}")
  list(FILTER tokens INCLUDE REGEX "^/")
  list(FILTER tokens EXCLUDE REGEX "/cmake/odenet/?$")
  foreach(token IN LISTS tokens)
    foreach(root IN LISTS machine_roots)
      string(FIND "${token}/" "${root}/" at)
      if(at EQUAL 0)
        file(RELATIVE_PATH shown ${prefix} ${cmake_file})
        list(APPEND machine_paths "  ${shown}: ${token}")
        break()
      endif()
    endforeach()
  endforeach()
endforeach()
if(machine_paths)
  list(REMOVE_DUPLICATES machine_paths)
  list(JOIN machine_paths "\n" shown)
  message(FATAL_ERROR "install test: installed CMake files under ${prefix} name paths of the build "
                      "machine (its libraries and headers, or odenet's build or source tree); a "
                      "consumer's machine may have none of them there:\n${shown}")
endif()
list(LENGTH installed_cmake_files count)
message(STATUS "install test: the ${count} installed *.cmake files name no library, header or build path of this machine")

# 2. Configure the consumer against the prefix only.
run("configure the consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} ${configure_args})
file(STRINGS ${build}/CMakeCache.txt odenet_dir REGEX "^odenet_DIR:")
string(REGEX REPLACE "^odenet_DIR:[A-Z]+=" "" odenet_dir "${odenet_dir}")
file(REAL_PATH "${odenet_dir}" odenet_dir)
file(REAL_PATH "${prefix}" real_prefix)
string(FIND "${odenet_dir}" "${real_prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "install test: the consumer found odenet in ${odenet_dir}, not under ${real_prefix}")
endif()

# 3. Build and run it.
run("build the consumer" ${CMAKE_COMMAND} --build ${build} --config ${CONFIG})
set(exe ${build}/consumer)
if(NOT EXISTS ${exe})
  set(exe ${build}/${CONFIG}/consumer)  # multi-configuration generators
endif()
run("run the consumer" ${exe} ${out})
message("${step_output}")
if(NOT step_output MATCHES "install_consumer: OK\n$")
  message(FATAL_ERROR "install test: the consumer's output does not end with \"install_consumer: OK\"")
endif()
file(STRINGS ${out}/losses.csv csv_header LIMIT_COUNT 1)
if(NOT csv_header STREQUAL "step,loss")
  message(FATAL_ERROR "install test: losses.csv starts with \"${csv_header}\", not \"step,loss\"")
endif()
file(READ ${out}/losses.png png_signature LIMIT 8 HEX)
if(NOT png_signature STREQUAL "89504e470d0a1a0a")
  message(FATAL_ERROR "install test: losses.png does not start with the PNG signature (${png_signature})")
endif()

# 3b. The plain solver alone: ode_only links odenet::ode, and none of the symbols the autodiff
# library defines (its non-inline functions, nm type T) may be in the executable. Static
# archives contribute only the members a program needs, so any such symbol would mean that
# something the plain solver uses pulls in autodiff.
set(ode_exe ${build}/ode_only)
if(NOT EXISTS ${ode_exe})
  set(ode_exe ${build}/${CONFIG}/ode_only)
endif()
run("run ode_only" ${ode_exe})
message("${step_output}")
if(NOT step_output MATCHES "ode_only: OK\n$")
  message(FATAL_ERROR "install test: ode_only's output does not end with \"ode_only: OK\"")
endif()
file(GLOB autodiff_lib ${prefix}/*/libodenet_autodiff.a)
if(NOT autodiff_lib)
  message(FATAL_ERROR "install test: no libodenet_autodiff.a under ${prefix}")
endif()
find_program(NM nm REQUIRED)
run("nm the autodiff library" ${NM} --defined-only --extern-only ${autodiff_lib})
string(REGEX MATCHALL "[0-9a-f]+ T [^\n]+" autodiff_functions "${step_output}")
list(LENGTH autodiff_functions count)
if(count LESS 50)
  message(FATAL_ERROR "install test: only ${count} functions found in ${autodiff_lib}; the nm check would see nothing")
endif()
run("nm ode_only" ${NM} --defined-only ${ode_exe})
set(ode_symbols "\n${step_output}\n")
string(REGEX REPLACE "[0-9a-f]+ [A-Za-z] " "" ode_symbols "${ode_symbols}")
set(leaked)
foreach(entry IN LISTS autodiff_functions)
  string(REGEX REPLACE "^[0-9a-f]+ T " "" symbol "${entry}")
  string(FIND "${ode_symbols}" "\n${symbol}\n" at)
  if(NOT at EQUAL -1)
    list(APPEND leaked ${symbol})
  endif()
endforeach()
if(leaked)
  list(LENGTH leaked n)
  list(SUBLIST leaked 0 5 first)
  message(FATAL_ERROR "install test: ode_only (odenet::ode alone) holds ${n} autodiff functions, e.g. ${first}")
endif()
message(STATUS "install test: ode_only holds none of the autodiff library's ${count} functions")

# 3c. No -march reaches the consumer: the package must build programs for any x86-64.
# The compile commands are read from compile_commands.json, which Makefile and Ninja generators
# write when asked (CMAKE_EXPORT_COMPILE_COMMANDS in the consumer's configure below).
set(flag_files ${build}/compile_commands.json)
if(NOT EXISTS ${flag_files})
  message(FATAL_ERROR "install test: ${flag_files} is missing; the -march check would see nothing")
endif()
foreach(flag_file IN LISTS flag_files)
  file(READ ${flag_file} flags)
  if(flags MATCHES "-march=")
    message(FATAL_ERROR "install test: the installed package put -march into the consumer's flags (${flag_file}):\n${flags}")
  endif()
endforeach()

# 4. Without util installed, asking for it fails cleanly, naming the component.
file(GLOB util_targets ${prefix}/*/cmake/odenet/odenet-utilTargets.cmake)  # lib or lib64
if(NOT util_targets)
  message(FATAL_ERROR "install test: no odenet-utilTargets.cmake under ${prefix}")
endif()
file(RENAME ${util_targets} ${util_targets}.hidden)
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-without-util
                        ${configure_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
file(RENAME ${util_targets}.hidden ${util_targets})
string(REGEX REPLACE "[ \t\r\n]+" " " output "${output}")  # CMake wraps long error lines
if(rc EQUAL 0 OR NOT output MATCHES "odenet component \"util\" is not installed in ${prefix}")
  message(FATAL_ERROR "install test: without util installed, find_package(odenet COMPONENTS util) "
                      "should fail naming the component; it gave (${rc}):\n${output}")
endif()
message(STATUS "install test: without util, find_package(odenet REQUIRED COMPONENTS util) fails as it should")

# 5. Asking only for always-present components needs none of util's packages. A FindPNG module
# first on CMAKE_MODULE_PATH stops the configure with its message whenever PNG is looked for
# (find_package tries modules before configs); a REQUIRED find_dependency would ignore
# CMAKE_DISABLE_FIND_PACKAGE_PNG, so that is not enough. zlib is not tested: odenet::nn, always
# loaded, links it.
set(no_png ${WORK_DIR}/no-png)
file(WRITE ${no_png}/FindPNG.cmake "message(FATAL_ERROR \"install test: PNG was looked for\")\n")
run("configure an ode-only consumer with PNG unfindable"
    ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-ode-only ${configure_args}
    -DCONSUMER_ODE_ONLY=ON -DCMAKE_MODULE_PATH=${no_png})
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-util-no-png
                        ${configure_args} -DCMAKE_MODULE_PATH=${no_png}
                RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(rc EQUAL 0 OR NOT output MATCHES "install test: PNG was looked for")
  message(FATAL_ERROR "install test: with the failing FindPNG, find_package(odenet COMPONENTS util) "
                      "should have stopped in it, or the ode-only check sees nothing; it gave (${rc}):\n${output}")
endif()
message(STATUS "install test: find_package(odenet REQUIRED COMPONENTS ode) does not look for PNG; COMPONENTS util does")

# 6. The distributed component, where it was built: found, linked and run on 2 ranks.
if(NOT "${MPIEXEC}" STREQUAL "")
  file(GLOB distributed_targets ${prefix}/*/cmake/odenet/odenet-distributedTargets.cmake)
  if(NOT distributed_targets)
    message(FATAL_ERROR "install test: odenet::distributed was built but no odenet-distributedTargets.cmake is under ${prefix}")
  endif()
  run("configure a distributed consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build-distributed
      ${configure_args} -DCONSUMER_DISTRIBUTED=ON)
  run("build the distributed consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build-distributed --config ${CONFIG})
  separate_arguments(mpiexec_flags UNIX_COMMAND "${MPIEXEC_FLAGS}")
  # Without leak checking (in the sanitizer build): OpenMPI's own allocations are never freed.
  run("run the distributed consumer on 2 ranks" ${CMAKE_COMMAND} -E env "ASAN_OPTIONS=${MPI_ASAN_OPTIONS}"
      ${MPIEXEC} -n 2 ${mpiexec_flags}
      ${WORK_DIR}/build-distributed/distributed_consumer)
  message("${step_output}")
  if(NOT step_output MATCHES "distributed_consumer: 2 ranks: OK")
    message(FATAL_ERROR "install test: the distributed consumer did not report OK")
  endif()
endif()
