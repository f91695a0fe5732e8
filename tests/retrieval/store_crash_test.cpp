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

// Reads the child's output into *all until it holds `want` acks or the pipe closes.
void read_until(int fd, int64_t want, std::string* all) {
  auto acks = [&] {
    int64_t n = 0;
    for (size_t pos = 0; (pos = all->find("ack ", pos)) != std::string::npos; pos += 4) ++n;
    return n;
  };
  char buf[4096];
  while (acks() < want) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return;
    all->append(buf, static_cast<size_t>(n));
  }
}

// The acknowledged batches, which must be first, first + 1, ...
int64_t count_acks(const std::string& all, int64_t first) {
  int64_t next = first;
  for (size_t pos = 0; (pos = all.find("ack ", pos)) != std::string::npos; pos += 4) {
    EXPECT_EQ(std::stoll(all.substr(pos + 4)), next);
    ++next;
  }
  return next - first;
}

// Batch number -> documents of it in the store (check() has already tied the index to the rows).
std::map<int64_t, int64_t> batches_in(const std::string& db) {
  Db conn(db, false);
  Stmt q(conn, "SELECT json_extract(meta, '$.batch'), count(*) FROM documents GROUP BY 1");
  std::map<int64_t, int64_t> out;
  while (q.step()) out[q.int64(0)] = q.int64(1);
  return out;
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
    // Kill after 0-4 acknowledged batches plus 0-8 ms: anywhere in a commit, an index update or
    // an index save, whatever the machine's load.
    std::string out;
    read_until(fds[0], static_cast<int64_t>(rng.below(5)), &out);
    std::this_thread::sleep_for(std::chrono::microseconds(rng.below(8000)));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the ingester ended by itself, status " << status;
    read_until(fds[0], 1 << 30, &out);
    const int64_t acked = count_acks(out, committed);
    close(fds[0]);

    Collection coll(db, "c");
    ASSERT_EQ(coll.check(), "") << "round " << round;
    replays += coll.info().replayed > 0 ? 1 : 0;
    const std::map<int64_t, int64_t> got = batches_in(db);
    const int64_t have = static_cast<int64_t>(got.size());
    ASSERT_TRUE(have == committed + acked || have == committed + acked + 1)
        << "round " << round << ": " << have << " batches, " << committed + acked << " acked";
    for (const auto& [b, n] : got) ASSERT_EQ(n, kBatch) << "batch " << b << " is partial";
    if (have > 0) ASSERT_EQ(got.rbegin()->first, have - 1) << "batches are not 0.." << have - 1;
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
