# Outside libraries of loom_train:
# zlib (deflate for the loss-curve PNG; tests inflate it back).
find_package(ZLIB REQUIRED)
target_link_libraries(loom_train PUBLIC ZLIB::ZLIB)
# Data parallelism (process_group.cpp) joins jobs started by mpirun: Debian's OpenMPI
# (libopenmpi-dev, openmpi-bin). Without it the build still works, as a single process.
find_package(MPI COMPONENTS C QUIET)
if(MPI_C_FOUND)
  target_link_libraries(loom_train PRIVATE MPI::MPI_C)
  target_compile_definitions(loom_train PRIVATE LOOM_HAVE_MPI=1)
  message(STATUS "loom: data parallelism through MPI (${MPI_C_LIBRARIES})")
else()
  message(STATUS "loom: MPI not found; `mpirun loom train` is refused")
endif()
