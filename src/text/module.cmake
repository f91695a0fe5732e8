# Outside libraries of loom_text: PCRE2 (split patterns, JIT), ICU (normalisation, categories),
# nlohmann_json (tokenizer.json).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(nlohmann_json REQUIRED)
target_link_libraries(loom_text PUBLIC nlohmann_json::nlohmann_json
                      PRIVATE PkgConfig::PCRE2 ICU::uc ICU::i18n)
# The BPE trainer test pre-tokenizes with the GPT-2 regex through PCRE2 directly.
function(loom_text_link_test_pcre2)
  if(TARGET text_tests)
    target_link_libraries(text_tests PRIVATE PkgConfig::PCRE2)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL loom_text_link_test_pcre2)
