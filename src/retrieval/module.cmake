find_package(nlohmann_json REQUIRED)
target_link_libraries(loom_retrieval PRIVATE nlohmann_json::nlohmann_json)
# The document store keeps collections in SQLite (Debian's libsqlite3-dev).
find_package(SQLite3 REQUIRED)
target_link_libraries(loom_retrieval PRIVATE SQLite::SQLite3)
