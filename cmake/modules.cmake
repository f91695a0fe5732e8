# loom_module(NAME [DEPS dep...]) makes library target loom_NAME from src/NAME/*.cpp.
#
# Each module sees headers through its own include root, build/inc/NAME/NAME -> src/NAME, and the
# roots of the modules it links. A header of a module that is not a dependency is simply not on
# the include path, so an include that breaks DESIGN.md's dependency order fails the build.
function(loom_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  set(root ${CMAKE_BINARY_DIR}/inc/${name})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${name} ${root}/${name} SYMBOLIC)
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${name}/*.cpp)
  add_library(loom_${name} STATIC ${srcs})
  target_include_directories(loom_${name} PUBLIC ${root})
  foreach(dep ${M_DEPS})
    if(TARGET loom_${dep})  # a module without sources yet has no target
      target_link_libraries(loom_${name} PUBLIC loom_${dep})
    endif()
  endforeach()
endfunction()
