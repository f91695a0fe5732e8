target_link_libraries(loom_core PUBLIC Threads::Threads PRIVATE ${BLAS_LIBRARIES} DNNL::dnnl)
target_include_directories(loom_core PRIVATE ${CBLAS_INCLUDE_DIR})
find_package(OpenMP REQUIRED)
target_link_libraries(loom_core PRIVATE OpenMP::OpenMP_CXX)
