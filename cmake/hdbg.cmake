# Build helpers shared by every CMakeLists.txt of the project.

set(HD_WARNINGS -Wall -Wextra -Wshadow -Wundef -Wwrite-strings
    -Wredundant-decls -Wmissing-prototypes -Wstrict-prototypes
    -Wold-style-definition)
if(HDBG_WERROR)
  list(APPEND HD_WARNINGS -Werror)
endif()
add_compile_options(${HD_WARNINGS})
add_compile_definitions(_GNU_SOURCE)

if(HDBG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# hd_layer(NAME DEPS...): static library hd_NAME from src/NAME/*.c.
# main.c of the front end is left out (it belongs to the hdbg executable).
function(hd_layer name)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.c)
  list(FILTER srcs EXCLUDE REGEX "/src/cli/main\\.c$")
  if(NOT srcs)
    return()
  endif()
  add_library(hd_${name} STATIC ${srcs})
  target_include_directories(hd_${name} PUBLIC ${CMAKE_SOURCE_DIR}/src
                                               ${CMAKE_SOURCE_DIR}/include)
  set(deps)
  foreach(d ${ARGN})
    if(d MATCHES "::")
      list(APPEND deps ${d})
    elseif(TARGET hd_${d})
      list(APPEND deps hd_${d})
    endif()
  endforeach()
  target_link_libraries(hd_${name} PUBLIC ${deps})
  if(EXISTS ${CMAKE_SOURCE_DIR}/src/${name}/CMakeLists.txt)
    add_subdirectory(${CMAKE_SOURCE_DIR}/src/${name} ${CMAKE_BINARY_DIR}/src/${name})
  endif()
endfunction()

# hd_unit_tests(LAYER LIBS...): one cmocka executable per tests/unit/LAYER/test_*.c
function(hd_unit_tests layer)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/unit/${layer}/test_*.c)
  foreach(src ${srcs})
    get_filename_component(n ${src} NAME_WE)
    set(exe unit_${layer}_${n})
    add_executable(${exe} ${src})
    target_link_libraries(${exe} PRIVATE ${ARGN} PkgConfig::CMOCKA)
    target_compile_definitions(${exe} PRIVATE
      HD_SOURCE_DIR="${CMAKE_SOURCE_DIR}" HD_BINARY_DIR="${CMAKE_BINARY_DIR}")
    add_dependencies(${exe} hd_targets)  # tests debug the programs of tests/targets
    add_test(NAME unit/${layer}/${n} COMMAND ${exe})
    set_tests_properties(unit/${layer}/${n} PROPERTIES TIMEOUT 300)
  endforeach()
endfunction()
