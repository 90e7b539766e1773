# SPDX-License-Identifier: GPL-2.0-or-later
# Every fuzz target also builds without libFuzzer as fuzz_TARGET_replay, and a
# unit test runs it over the project's own seeds and tests/data/fuzz-
# regressions/TARGET/ (inputs that once failed), so regressions are caught by
# every ordinary test run, under ASan/UBSan in the sanitizer build. With
# CORPUS KIND it also replays the inputs tests/fuzz/run cuts from the
# third-party corpus (tests/fuzz/corpus_inputs.h) when the corpus is there;
# with nothing at all to replay the test is skipped and says why.
set(_data ${PROJECT_SOURCE_DIR}/tests/data)
function(vg_add_fuzz_replay target)
  cmake_parse_arguments(ARG "" "CORPUS" "LIBS;INPUTS" ${ARGN})
  add_executable(${target}_replay ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
  target_link_libraries(${target}_replay PRIVATE ${ARG_LIBS} vg_fuzz_corpus_inputs)
  set(inputs ${ARG_INPUTS})
  if(EXISTS ${_data}/fuzz-regressions/${target})
    list(APPEND inputs ${_data}/fuzz-regressions/${target})
  endif()
  if(ARG_CORPUS)
    list(PREPEND inputs --corpus ${ARG_CORPUS})
  endif()
  add_test(NAME FuzzReplay.${target} COMMAND ${target}_replay ${inputs})
  set_tests_properties(FuzzReplay.${target} PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
endfunction()

vg_add_fuzz_replay(fuzz_packet LIBS voipguard_net voipguard_media CORPUS packet)
vg_add_fuzz_replay(fuzz_sip LIBS voipguard_sip CORPUS sip)
vg_add_fuzz_replay(fuzz_sdp LIBS voipguard_sdp CORPUS sdp)
vg_add_fuzz_replay(fuzz_policy LIBS voipguard_config INPUTS ${PROJECT_SOURCE_DIR}/config/examples)
vg_add_fuzz_replay(fuzz_time_zone LIBS voipguard_config INPUTS ${_data}/fuzz-seeds/time_zone)
vg_add_fuzz_replay(fuzz_digest LIBS voipguard_engine voipguard_config INPUTS ${_data}/fuzz-seeds/digest)
vg_add_fuzz_replay(fuzz_engine LIBS voipguard_engine voipguard_config INPUTS ${_data}/fuzz-seeds/engine)
vg_add_fuzz_replay(fuzz_log_structured LIBS voipguard_daemon_support INPUTS ${_data}/fuzz-seeds/log_structured)
vg_add_fuzz_replay(fuzz_audit_banner LIBS voipguard_daemon_core INPUTS ${_data}/fuzz-seeds/audit_banner)

# The differential target against libosip2 (only where libosip2 is installed).
include(${CMAKE_CURRENT_LIST_DIR}/differential.cmake)
