// ThreadPool: the one thread knob. Callers create it with --threads and pass it down; nothing in
// Loom reads a global thread count.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace loom {

class ThreadPool {
 public:
  // n_threads counts the calling thread, which always takes part; 0 means hardware concurrency.
  explicit ThreadPool(int n_threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task) for task in [0, n_tasks); blocks until all are done. Tasks are handed out in
  // order through an atomic counter, so fn must not depend on which thread runs it. Exceptions
  // from fn are rethrown (the first one) after all tasks finish.
  void run(int64_t n_tasks, const std::function<void(int64_t)>& fn);

  // Splits [0, n) into contiguous ranges of at least `grain` items, at most one per thread, and
  // runs fn(begin, end) on each. The split depends only on n, grain and size().
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop(int index);
  void work_on_current();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  // A new job bumps generation_. Idle workers spin on it for a short while before they sleep on
  // wake_, and the caller spins on active_ before it sleeps on done_cv_: a decode step hands out
  // about five jobs per layer, and a futex wake-up per job cost more than the spin.
  std::atomic<uint64_t> generation_{0};
  int sleepers_ = 0;    // workers waiting on wake_ (guarded by mu_)
  bool main_waiting_ = false;  // the caller waits on done_cv_ (guarded by mu_)
  bool stop_ = false;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  std::exception_ptr error_;
  std::mutex error_mu_;
};

}  // namespace loom
