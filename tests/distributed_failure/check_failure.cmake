# Runs `mpiexec -n 2 failing_rank MODE` and checks that the job ended on its own within LIMIT
# seconds, with a non-zero exit code and EXPECT (a regular expression) in its output.
# cmake -DMPIEXEC=... -DFLAGS=... -DPROGRAM=... -DMODE=throw|stuck -DEXPECT=... -DLIMIT=30 -P check_failure.cmake
string(TIMESTAMP start "%s")
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
execute_process(COMMAND ${MPIEXEC} -n 2 ${flags} ${PROGRAM} ${MODE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
string(TIMESTAMP stop "%s")
math(EXPR seconds "${stop} - ${start}")
message(STATUS "exit: ${rc}; ${seconds} s\n--- stdout\n${out}\n--- stderr\n${err}")
if(rc MATCHES "timeout")
  message(FATAL_ERROR "the job did not end within 120 s: a failing rank left the others hanging")
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "the job exited with 0 although a rank failed")
endif()
if(seconds GREATER LIMIT)
  message(FATAL_ERROR "the job took ${seconds} s to end; the limit is ${LIMIT} s")
endif()
if(NOT "${out}${err}" MATCHES "${EXPECT}")
  message(FATAL_ERROR "the output does not name the failure (expected /${EXPECT}/)")
endif()
