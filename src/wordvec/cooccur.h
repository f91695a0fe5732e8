// Word-word co-occurrence counts for GloVe, as Pennington et al. (2014) and Stanford's `cooccur`
// define them: over a corpus already reduced to vocabulary ids (out-of-vocabulary words dropped
// before windowing, as `cooccur` does with its vocabulary file), each word w2 at position p and
// each word w1 at position p-d, 1 <= d <= window, in the same sentence, add 1/d to X(w1, w2) and,
// with a symmetric window, to X(w2, w1) as well (so a word next to itself adds 2/d to X(w, w)).
// Sentences are the lines of EncodedCorpus (a line over kMaxSentenceWords words is cut, where
// `cooccur` would not cut it).
//
// Exact and order-free: a pair at distance d adds weight(d) = D / d integer units, D =
// lcm(1..window), and X = units / D at the end. Integer sums do not depend on the order of the
// additions, so the counts are identical for any thread count and any memory budget (any number
// of spilled runs), and exact. D fits 32 bits up to window 22; for wider windows D = 2^32 and
// weight(d) = round(2^32 / d), a relative error below 2^-32 per addition.
//
// Bounded memory: each thread counts into a dense array for the pairs of frequent words (ranks
// (i+1)(j+1) < P, P chosen to fill half its share of the budget, as `cooccur`'s bigram table)
// and a hash table for the rest; when the hash table is full its entries are sorted and written
// to a run file in temp_dir. At the end the runs, the hash tables and the dense arrays are merged
// (k-way, summing equal pairs) into one list sorted by (row, col). Run files are removed. The
// merged list is held in memory (16 bytes a pair): the budget bounds the counting, not the result.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wordvec/vocab.h"

namespace loom {
class ThreadPool;
}

namespace loom::wordvec {

struct CooccurOptions {
  int64_t window = 15;
  bool symmetric = true;    // false: left context only (`cooccur -symmetric 0`): X(left, right)
  double memory_mb = 1024;  // counting tables of all threads together, in MiB
  std::string temp_dir;     // where full tables spill; "" = the system's temporary folder
};

// Throws loom::Error naming the first option out of range.
void check_options(const CooccurOptions& opt);

struct Cooccurrence {
  int32_t row = 0;   // the word: a row of W
  int32_t col = 0;   // the context word: a row of W~
  double count = 0;  // X(row, col), a sum of 1/d
};

struct CooccurStats {
  int64_t pairs = 0;         // nonzero entries
  int64_t runs_spilled = 0;  // run files written to temp_dir (and removed)
  int64_t dense_limit = 0;   // P: pairs with (row+1)(col+1) < P were counted in the dense arrays
  double seconds = 0;
};

// Counts over `corpus` (ids < vocab_size). Progress reports corpus words done.
std::vector<Cooccurrence> count_cooccurrences(const EncodedCorpus& corpus, int64_t vocab_size,
                                              const CooccurOptions& opt, ThreadPool& pool,
                                              CooccurStats* stats = nullptr,
                                              const ProgressFn& progress = {});

// --- Run files (public so tests can check the reader) ---------------------------------------
// "LOOMCRUN" (8 bytes), u64 version (1), u64 denominator D, u64 record count, then the records
// sorted by key with no key twice: u64 key = row << 32 | col, u64 units. Little-endian.
struct RunRecord {
  uint64_t key = 0;
  uint64_t units = 0;
};
// The units a pair at distance d (1..window) adds; weights[0] = D.
std::vector<uint64_t> count_weights(int64_t window);
void write_run_file(const std::string& path, uint64_t denominator,
                    const std::vector<RunRecord>& records);
void write_run_file(const std::string& path, uint64_t denominator, const RunRecord* records,
                    size_t n_records);
// Merges run files written with the same denominator; throws loom::Error naming the file and
// record for a bad header, a truncated file, keys out of order or ids >= vocab_size.
std::vector<Cooccurrence> merge_run_files(const std::vector<std::string>& paths,
                                          int64_t vocab_size);

}  // namespace loom::wordvec
