# SPDX-License-Identifier: BSD-2-Clause
#
# The control protocol: the pure codec alone; the server and its handlers
# over a real UNIX socket with real HID and flow tables; dimectl's
# renderers against the golden files in golden/ (whose JSON must parse).
# The two suites that serve a real socket share ctltest.c's stand-in loop.
set(DIME_CTL_SERVER_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/ctltest.c
  ${PROJECT_SOURCE_DIR}/src/control.c
  ${PROJECT_SOURCE_DIR}/src/ctl_handlers.c
  ${PROJECT_SOURCE_DIR}/src/ctl_proto.c
  ${PROJECT_SOURCE_DIR}/src/hid.c
  ${PROJECT_SOURCE_DIR}/src/bigalloc.c
  ${PROJECT_SOURCE_DIR}/src/flow.c
  ${PROJECT_SOURCE_DIR}/src/addr.c
  ${PROJECT_SOURCE_DIR}/src/log.c)
dime_unit_test(test_ctl_proto
  ${CMAKE_CURRENT_LIST_DIR}/test_ctl_proto.c
  ${PROJECT_SOURCE_DIR}/src/ctl_proto.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
dime_unit_test(test_ctl_server
  ${CMAKE_CURRENT_LIST_DIR}/test_ctl_server.c ${DIME_CTL_SERVER_SOURCES})
dime_unit_test(test_ctl_render
  ${CMAKE_CURRENT_LIST_DIR}/test_ctl_render.c
  ${PROJECT_SOURCE_DIR}/src/dimectl_render.c
  ${PROJECT_SOURCE_DIR}/src/addr.c)
target_compile_definitions(test_ctl_render PRIVATE
  DIME_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden")

find_program(DIME_PYTHON3 python3)
if(DIME_PYTHON3)
  file(GLOB DIME_CTL_JSON_GOLDENS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/golden/dimectl_*.json)
  foreach(json ${DIME_CTL_JSON_GOLDENS})
    get_filename_component(stem ${json} NAME_WE)
    add_test(NAME json_${stem} COMMAND ${DIME_PYTHON3} -m json.tool ${json})
    set_tests_properties(json_${stem} PROPERTIES LABELS unit)
  endforeach()
  # JSON Lines (dimectl -j monitor): every line one object.
  file(GLOB DIME_CTL_JSONL_GOLDENS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/golden/dimectl_*.jsonl)
  foreach(jsonl ${DIME_CTL_JSONL_GOLDENS})
    get_filename_component(stem ${jsonl} NAME_WE)
    add_test(NAME jsonl_${stem} COMMAND ${DIME_PYTHON3} -m json.tool --json-lines ${jsonl})
    set_tests_properties(jsonl_${stem} PROPERTIES LABELS unit)
  endforeach()
endif()

# dimectl itself, run against a server in the test process.
# (with the key file code: set-local-key reads a real private key)
dime_unit_test(test_ctl_dimectl
  ${CMAKE_CURRENT_LIST_DIR}/test_ctl_dimectl.c ${DIME_CTL_SERVER_SOURCES}
  ${PROJECT_SOURCE_DIR}/src/ihmp_sign.c ${PROJECT_SOURCE_DIR}/src/ihmp_wire.c)
target_link_libraries(test_ctl_dimectl PRIVATE PkgConfig::CRYPTO)
add_dependencies(test_ctl_dimectl dimectl)
target_compile_definitions(test_ctl_dimectl PRIVATE
  DIMECTL_PATH="$<TARGET_FILE:dimectl>"
  DIME_GOLDEN_DIR="${CMAKE_CURRENT_LIST_DIR}/golden")
