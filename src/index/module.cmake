# zlib: CRC-32 of index file sections (checked on every load).
find_package(ZLIB REQUIRED)
target_link_libraries(loom_index PUBLIC ZLIB::ZLIB)
