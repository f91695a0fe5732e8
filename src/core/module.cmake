# OpenBLAS is found here but loaded at first use (see gemm.cpp: it must see OPENBLAS_CORETYPE
# before it initialises); oneDNN and OpenMP are linked.
find_package(OpenMP REQUIRED)
target_link_libraries(loom_core PUBLIC Threads::Threads PRIVATE DNNL::dnnl OpenMP::OpenMP_CXX ${CMAKE_DL_LIBS})
target_include_directories(loom_core PRIVATE ${CBLAS_INCLUDE_DIR})
target_compile_definitions(loom_core PRIVATE LOOM_OPENBLAS_PATH="${BLAS_LIBRARIES}")
