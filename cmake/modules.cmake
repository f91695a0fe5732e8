# loom_module(NAME [DEPS dep...]) makes library target loom_NAME from src/NAME/*.cpp.
#
# Each module compiles against exactly its own include root, build/inc/NAME/NAME -> src/NAME, and
# the roots of the modules DEPS lists (CMakeLists.txt's LOOM_MODULES, DESIGN.md's table). The
# module links them PRIVATE: a static library still passes its link line on to whatever links it,
# but the include roots stop there, so a module does not see the headers of its dependencies'
# dependencies. An include of a module that is not in the list -- directly or through another
# module's header -- is not on the include path and fails the build
# (scripts/check-module-includes.py, ctest lint.module_includes, says the same without a build).
# Whoever links loom_NAME (the CLI, a test binary) gets loom_NAME's own root only; DEPS are kept
# in the target's LOOM_DEPS property for tests/CMakeLists.txt.
function(loom_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/inc/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(loom_${name} STATIC ${srcs})
  loom_fuzz_instrument(loom_${name})
  target_include_directories(loom_${name} PUBLIC ${root})
  set(linked)
  foreach(dep ${M_DEPS})
    if(TARGET loom_${dep})  # a module without sources yet has no target
      target_link_libraries(loom_${name} PRIVATE loom_${dep})
      list(APPEND linked loom_${dep})
    endif()
  endforeach()
  set_property(TARGET loom_${name} PROPERTY LOOM_DEPS ${linked})
endfunction()
