# Outside libraries of loom_text: PCRE2 (split patterns, JIT), ICU (normalisation, categories),
# nlohmann_json (tokenizer.json).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
find_package(ICU REQUIRED COMPONENTS uc i18n)
find_package(nlohmann_json REQUIRED)
target_link_libraries(loom_text PUBLIC nlohmann_json::nlohmann_json
                      PRIVATE PkgConfig::PCRE2 ICU::uc ICU::i18n)
