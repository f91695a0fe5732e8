// Data-parallel process groups: the processes `mpirun -np N loom train …` starts, each holding a
// full model replica. Each process draws its own micro-batches of a global batch; after backward
// the gradient blocks are summed across processes (all-reduce), so every replica takes the same
// optimiser step and the weights stay identical without ever being sent.
//
// A process started without mpirun is a group of one and never touches MPI. Under mpirun the
// group initialises MPI on creation and finalises it on destruction: create one per process.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace loom::train {

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;

  // The group this process was launched in: MPI when the launcher's environment says so
  // (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK), else a group of one. Asking for MPI in a
  // build without it is a loom::Error.
  static std::unique_ptr<ProcessGroup> from_environment();
  // A group of one (tests, and single-process runs).
  static std::unique_ptr<ProcessGroup> single();
  // True when this build can join MPI jobs.
  static bool mpi_available();

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;  // "single" or "mpi"
  bool is_root() const { return rank() == 0; }

  // In place, element-wise sum over every process; every process gets the result.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  // Copies root's bytes to every other process.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace loom::train
