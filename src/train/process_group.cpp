#include "train/process_group.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "core/error.h"

#ifdef LOOM_HAVE_MPI
// The C API only: skip Open MPI's deprecated C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace loom::train {

namespace {

class SingleGroup : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

#ifdef LOOM_HAVE_MPI
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw Error(std::string("mpi: ") + what + " failed: " + std::string(msg, static_cast<size_t>(len)));
}

// MPI counts are int: large buffers go in pieces.
template <typename T, typename F>
void in_pieces(T* data, size_t n, F&& f) {
  constexpr size_t kMax = static_cast<size_t>(std::numeric_limits<int>::max()) / 2;
  for (size_t i = 0; i < n; i += kMax) f(data + i, static_cast<int>(std::min(kMax, n - i)));
}

class MpiGroup : public ProcessGroup {
 public:
  MpiGroup() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_ = true;
    }
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  ~MpiGroup() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owns_ && !finalized) MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }
  void allreduce_sum(float* data, size_t n) override {
    in_pieces(data, n, [](float* p, int c) {
      check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    });
  }
  void allreduce_sum(double* data, size_t n) override {
    in_pieces(data, n, [](double* p, int c) {
      check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce");
    });
  }
  void broadcast(void* data, size_t bytes, int root) override {
    in_pieces(static_cast<char*>(data), bytes, [root](char* p, int c) {
      check(MPI_Bcast(p, c, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    });
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

 private:
  int rank_ = 0, size_ = 1;
  bool owns_ = false;
};
#endif

}  // namespace

std::unique_ptr<ProcessGroup> ProcessGroup::single() { return std::make_unique<SingleGroup>(); }

bool ProcessGroup::mpi_available() {
#ifdef LOOM_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::unique_ptr<ProcessGroup> ProcessGroup::from_environment() {
  if (!launched_by_mpi()) return single();
#ifdef LOOM_HAVE_MPI
  return std::make_unique<MpiGroup>();
#else
  throw Error(
      "this process was started by an MPI launcher, but this build of loom has no MPI support "
      "(install libopenmpi-dev and rebuild)");
#endif
}

}  // namespace loom::train
