# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz_differential_osip (the toll-fraud guard against libosip2's reading of
# the same message) replayed without libFuzzer over
# tests/data/fuzz-regressions/differential/: every input there dials a denied
# number as libosip2 reads it, and the engine must drop it. Findings the
# engine does not pass yet wait in differential/pending/, which is not read
# (replay_main reads no subfolder). Needs libosip2 (libosip2-dev).
pkg_check_modules(OSIP2 IMPORTED_TARGET libosip2)
set(_vg_diff ${_data}/fuzz-regressions/differential)
if(OSIP2_FOUND)
  vg_add_fuzz_replay(fuzz_differential_osip LIBS voipguard_engine voipguard_config PkgConfig::OSIP2 INPUTS ${_vg_diff})
  # The oracle itself: told the engine accepted every packet, it must report
  # a violation for each of those inputs (else they guard nothing).
  add_test(NAME FuzzReplay.fuzz_differential_osip_oracle
           COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/differential_oracle_check.sh
                   $<TARGET_FILE:fuzz_differential_osip_replay> ${_vg_diff})
  set_tests_properties(FuzzReplay.fuzz_differential_osip_oracle PROPERTIES LABELS unit)
else()
  foreach(t FuzzReplay.fuzz_differential_osip FuzzReplay.fuzz_differential_osip_oracle)
    add_test(NAME ${t} COMMAND sh -c "echo 'skipped: libosip2 not found (packaging/install-deps installs libosip2-dev)'; exit 77")
    set_tests_properties(${t} PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
  endforeach()
endif()
