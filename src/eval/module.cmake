# The multiple-choice items reader (choice_items.cpp) parses JSONL.
find_package(nlohmann_json 3 REQUIRED)
target_link_libraries(loom_eval PRIVATE nlohmann_json::nlohmann_json)
