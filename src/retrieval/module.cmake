find_package(nlohmann_json REQUIRED)
target_link_libraries(loom_retrieval PRIVATE nlohmann_json::nlohmann_json)

# DESIGN.md lets retrieval use text and embed; until those modules have sources on a branch their
# targets do not exist, and a plain name would turn into a missing -lloom_text. Drop such names
# (a no-op once the modules exist, since they are configured before this one).
foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
  get_target_property(libs loom_retrieval ${prop})
  set(kept)
  foreach(lib ${libs})
    if(lib MATCHES "^loom_" AND NOT TARGET ${lib})
      continue()
    endif()
    list(APPEND kept ${lib})
  endforeach()
  set_target_properties(loom_retrieval PROPERTIES ${prop} "${kept}")
endforeach()
