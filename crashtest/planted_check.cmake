# Runs powercut cycles with the planted bug (the log's fdatasync skipped) and passes only
# if the driver exits 1 (a violation, not a crash or a setup error) having counted lost
# acknowledged writes. Usage: cmake -DDRIVER=<alexdb-crashtest> -DWORK_DIR=<dir> -P this.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(
  COMMAND ${DRIVER} --seed 1 --mode powercut --cycles 30 --keep-going --plant-skip-sync --dir ${WORK_DIR}
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
file(REMOVE_RECURSE ${WORK_DIR})
string(REGEX MATCH "operations acknowledged [0-9]+, lost ([0-9]+)" summary "${output}")
set(lost ${CMAKE_MATCH_1})
message("${summary}")
if(NOT result EQUAL 1)
  message(FATAL_ERROR "the planted bug was not caught: exit status ${result}, expected 1\n${output}\n${errors}")
endif()
if(NOT lost OR lost EQUAL 0)
  message(FATAL_ERROR "exit status 1, but no lost acknowledged write was reported\n${output}")
endif()
# The same cycles without the planted bug lose nothing: the failure above is the bug's.
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(
  COMMAND ${DRIVER} --seed 1 --mode powercut --cycles 30 --dir ${WORK_DIR}
  RESULT_VARIABLE clean_result OUTPUT_VARIABLE clean_output ERROR_VARIABLE clean_errors)
file(REMOVE_RECURSE ${WORK_DIR})
if(NOT clean_result EQUAL 0)
  message(FATAL_ERROR "without the planted bug the same cycles failed (${clean_result})\n${clean_output}\n${clean_errors}")
endif()
message("planted bug caught: ${lost} acknowledged writes lost; none without it")
