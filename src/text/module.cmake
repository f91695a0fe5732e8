# text-sp branch: the SentencePiece files need only core. PCRE2 is linked to the text test binary
# alone (the BPE trainer test pre-tokenizes with the GPT-2 regex). When merged with the pipeline
# branch's module.cmake, which links PCRE2 to loom_text, this deferred hook can go.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LOOM_TEXT_TEST_PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
function(loom_text_sp_link_test_pcre2)
  if(TARGET text_tests)
    target_link_libraries(text_tests PRIVATE PkgConfig::LOOM_TEXT_TEST_PCRE2)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL loom_text_sp_link_test_pcre2)
