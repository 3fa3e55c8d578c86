# Runs the same mixed cycles twice with one seed (the seeded schedule) and passes only
# if every cycle line is the same both times, timings aside: the threads' turns, the cut
# or kill I/O, the writes kept, dropped and torn, the operations acknowledged and the
# digest of the recovered state (state=...). Usage:
#   cmake -DDRIVER=<alexdb-crashtest> -DWORK_DIR=<dir> -P this.
foreach(run 1 2)
  file(REMOVE_RECURSE ${WORK_DIR})
  file(MAKE_DIRECTORY ${WORK_DIR})
  execute_process(
    COMMAND ${DRIVER} --seed 20261121 --cycles 120 --dir ${WORK_DIR}
    RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "run ${run} failed (${result})\n${output}\n${errors}")
  endif()
  string(REGEX MATCHALL "cycle +[0-9]+/[^\n]*" lines "${output}")
  string(REGEX REPLACE " recovery=[0-9.]+ms time=[0-9.]+ms" "" lines "${lines}")
  set(lines_${run} "${lines}")
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
list(LENGTH lines_1 count)
if(count LESS 100)
  message(FATAL_ERROR "only ${count} cycle lines\n${output}")
endif()
if(NOT lines_1 STREQUAL lines_2)
  list(LENGTH lines_2 count_2)
  if(NOT count EQUAL count_2)
    message(FATAL_ERROR "the same seed gave ${count} cycles, then ${count_2}")
  endif()
  math(EXPR last "${count} - 1")
  foreach(i RANGE 0 ${last})
    list(GET lines_1 ${i} a)
    list(GET lines_2 ${i} b)
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "the same seed gave another run:\n  ${a}\n  ${b}")
    endif()
  endforeach()
  message(FATAL_ERROR "the same seed gave another run")
endif()
message("${count} cycles repeated exactly")
