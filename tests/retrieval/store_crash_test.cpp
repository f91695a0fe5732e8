// Crash safety: a forked ingester upserts batches of documents, printing an ack line to a pipe
// after each committed batch and saving the index file every few batches; the test SIGKILLs it
// at a random moment, many times. After each kill the store must reopen, pass check() (PRAGMA
// integrity_check, no orphan chunks, index ids == chunk rows) and hold whole batches only:
// exactly the acknowledged ones, plus possibly the one batch whose commit landed just before the
// kill took its ack (a commit and a pipe write cannot be one atomic step).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "core/rng.h"
#include "retrieval/doc_store.h"
#include "retrieval/store_fixture.h"
#include "test_util.h"

namespace loom::retrieval {
namespace {

constexpr int64_t kDim = 8, kBatch = 40;

std::vector<float> batch_vectors(int64_t batch) {
  Rng rng(static_cast<uint64_t>(batch) + 1);
  std::vector<float> v(kBatch * kDim);
  for (float& x : v) x = rng.normal();
  return v;
}

// The child: ingest from batch `first` on until killed; never returns.
[[noreturn]] void ingest(const std::string& db, int64_t first, int fd) {
  try {
    ThreadPool pool(1);
    Collection coll(db, "c");
    for (int64_t b = first; b < first + 1000; ++b) {
      std::vector<DocInput> docs;
      for (int64_t i = 0; i < kBatch; ++i) {
        docs.push_back({"b" + std::to_string(b) + "-" + std::to_string(i), "text of batch",
                        "{\"batch\": " + std::to_string(b) + "}"});
      }
      const std::vector<float> v = batch_vectors(b);
      coll.upsert(docs, pool, &v);
      const std::string ack = "ack " + std::to_string(b) + "\n";
      if (write(fd, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) _exit(3);
      if (b % 3 == 2) coll.save_index();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ingester: %s\n", e.what());
    _exit(2);
  }
  _exit(0);
}

int64_t read_acks(int fd, int64_t first) {
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<size_t>(n));
  int64_t next = first;
  for (size_t pos = 0; (pos = all.find("ack ", pos)) != std::string::npos; pos += 4) {
    EXPECT_EQ(std::stoll(all.substr(pos + 4)), next);
    ++next;
  }
  return next - first;
}

// Batch number -> documents of it in the store.
std::map<int64_t, int64_t> batches_in(Collection& coll) {
  std::map<int64_t, int64_t> out;
  if (coll.info().documents == 0) return out;  // no field seen yet: a filter would be an error
  ThreadPool pool(1);
  for (int64_t b = 0;; ++b) {
    SearchRequest r;
    r.vector.assign(kDim, 1.0f);
    r.k = kBatch + 1;
    r.filter = parse_filter("{\"batch\": " + std::to_string(b) + "}");
    const size_t n = coll.search(r, pool).size();
    if (n == 0) return out;
    out[b] = static_cast<int64_t>(n);
  }
}

TEST(StoreCrash, SigkillDuringIngestKeepsExactlyTheCommittedBatches) {
  const std::string dir = test::fresh_dir("crash");
  const std::string db = dir + "/crash.db";
  CollectionConfig cfg;
  cfg.embedder = "synthetic";
  cfg.dim = kDim;
  cfg.index_kind = "hnsw";
  create_collection(db, "c", cfg);
  const int rounds = loom::test::kSanitizerBuild ? 4 : 25;
  Rng rng(2024);
  int64_t committed = 0, unacked_commits = 0, replays = 0;
  for (int round = 0; round < rounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      ingest(db, committed, fds[1]);
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng.below(40000)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the ingester ended by itself, status " << status;
    const int64_t acked = read_acks(fds[0], committed);
    close(fds[0]);

    Collection coll(db, "c");
    ASSERT_EQ(coll.check(), "") << "round " << round;
    replays += coll.info().replayed > 0 ? 1 : 0;
    const std::map<int64_t, int64_t> got = batches_in(coll);
    const int64_t have = static_cast<int64_t>(got.size());
    ASSERT_TRUE(have == committed + acked || have == committed + acked + 1)
        << "round " << round << ": " << have << " batches, " << committed + acked << " acked";
    for (const auto& [b, n] : got) ASSERT_EQ(n, kBatch) << "batch " << b << " is partial";
    ASSERT_EQ(coll.info().documents, have * kBatch);
    unacked_commits += have - committed - acked;
    committed = have;
  }
  std::printf(
      "%d kills: %lld batches committed, %lld committed but unacknowledged, "
      "%lld reopenings replayed the index\n",
      rounds, static_cast<long long>(committed), static_cast<long long>(unacked_commits),
      static_cast<long long>(replays));
  EXPECT_GT(committed, 0);
}

}  // namespace
}  // namespace loom::retrieval
