# Outside libraries of loom_train: zlib (deflate for the loss-curve PNG; tests inflate it back).
find_package(ZLIB REQUIRED)
target_link_libraries(loom_train PUBLIC ZLIB::ZLIB)
