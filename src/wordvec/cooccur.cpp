#include "wordvec/cooccur.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <numeric>
#include <queue>

#include "core/error.h"
#include "core/huge_pages.h"
#include "core/threads.h"

namespace loom::wordvec {

namespace {

constexpr char kRunMagic[8] = {'L', 'O', 'O', 'M', 'C', 'R', 'U', 'N'};
constexpr uint64_t kRunVersion = 1;
constexpr size_t kRunHeaderBytes = 32;

uint64_t make_key(uint32_t row, uint32_t col) { return uint64_t{row} << 32 | col; }
uint32_t key_row(uint64_t key) { return static_cast<uint32_t>(key >> 32); }
uint32_t key_col(uint64_t key) { return static_cast<uint32_t>(key); }

[[noreturn]] void overflow(uint64_t key) {
  throw Error("cooccur: the count of pair (" + std::to_string(key_row(key)) + ", " +
              std::to_string(key_col(key)) + ") overflows 64-bit units");
}

void add_units(uint64_t& to, uint64_t units, uint64_t key) {
  if (__builtin_add_overflow(to, units, &to)) overflow(key);
}

// Run files of one count: unique names in the caller's folder, removed when this goes away.
class TempRuns {
 public:
  explicit TempRuns(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty()) dir_ = std::filesystem::temp_directory_path().string();
  }
  ~TempRuns() {
    for (const auto& p : paths_) ::unlink(p.c_str());
  }
  std::string create() {
    std::string tmpl = dir_ + "/loom-cooccur-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
      throw Error("cooccur: cannot create a run file in '" + dir_ + "': " + std::strerror(errno));
    }
    ::close(fd);
    std::lock_guard<std::mutex> lock(mu_);
    paths_.push_back(tmpl);
    return tmpl;
  }
  std::vector<std::string> paths() const { return paths_; }

 private:
  std::string dir_;
  std::mutex mu_;
  std::vector<std::string> paths_;
};

// One thread's tables: a dense array for rows i < dense rows with (i+1)(j+1) < P, laid out row
// after row (row i holds min(V, (P-1)/(i+1)) cells), and an open-addressing hash table for the
// other pairs, whose empty slots have units == 0 (every added weight is >= 1).
class Counter {
 public:
  Counter(int64_t vocab, size_t budget_bytes, uint64_t denominator, TempRuns& runs)
      : vocab_(vocab), denominator_(denominator), runs_(runs) {
    choose_dense(budget_bytes / 2);
    size_t cap = 16;
    while (cap * 2 * sizeof(RunRecord) <= budget_bytes / 2) cap *= 2;
    max_capacity_ = cap;
    capacity_ = std::min<size_t>(cap, 65536);
    slots_.assign(capacity_, RunRecord{});
  }

  void add(uint32_t i, uint32_t j, uint64_t units) {
    if (i < dense_rows_ && j < offset_[i + 1] - offset_[i]) {
      add_units(dense_[offset_[i] + j], units, make_key(i, j));
    } else {
      hash_add(make_key(i, j), units);
    }
  }

  // Sorts what the hash table holds; after this the counter is a source for merge().
  void finish() { used_sorted_ = compact_and_sort(); }

  int64_t dense_limit() const { return dense_limit_; }
  const RunRecord* sorted_begin() const { return slots_.data(); }
  const RunRecord* sorted_end() const { return slots_.data() + used_sorted_; }
  uint32_t dense_rows() const { return dense_rows_; }
  const std::vector<uint64_t>& offsets() const { return offset_; }
  const uint64_t* dense() const { return dense_.data(); }

 private:
  uint64_t dense_cells(uint64_t p) const {
    uint64_t cells = 0;
    for (int64_t i = 0; i < vocab_ && (p - 1) / uint64_t(i + 1) > 0; ++i) {
      cells += std::min<uint64_t>(uint64_t(vocab_), (p - 1) / uint64_t(i + 1));
    }
    return cells;
  }

  // The largest P whose dense array fits `bytes`.
  void choose_dense(size_t bytes) {
    const uint64_t max_cells = bytes / sizeof(uint64_t);
    uint64_t lo = 1, hi = uint64_t(vocab_) * uint64_t(vocab_) + 1;
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo + 1) / 2;
      if (dense_cells(mid) <= max_cells)
        lo = mid;
      else
        hi = mid - 1;
    }
    dense_limit_ = static_cast<int64_t>(lo);
    offset_.assign(1, 0);
    for (int64_t i = 0; i < vocab_ && (lo - 1) / uint64_t(i + 1) > 0; ++i) {
      offset_.push_back(offset_.back() + std::min<uint64_t>(uint64_t(vocab_), (lo - 1) / (i + 1)));
    }
    dense_rows_ = static_cast<uint32_t>(offset_.size() - 1);
    dense_.assign(offset_.back(), 0);
  }

  void hash_add(uint64_t key, uint64_t units) {
    for (size_t h = slot_of(key);; h = (h + 1) & (capacity_ - 1)) {
      RunRecord& s = slots_[h];
      if (s.units == 0) {
        s = {key, units};
        if (++used_ * 4 >= capacity_ * 3) capacity_ < max_capacity_ ? grow() : spill();
        return;
      }
      if (s.key == key) return add_units(s.units, units, key);
    }
  }

  // Doubles the table (it starts small so that a small corpus never touches the whole budget).
  void grow() {
    HugeVector<RunRecord> old(capacity_ * 2);
    old.swap(slots_);
    capacity_ *= 2;
    used_ = 0;
    for (const RunRecord& r : old) {
      if (r.units != 0) insert_new(r);
    }
  }

  void insert_new(const RunRecord& r) {
    size_t h = slot_of(r.key);
    while (slots_[h].units != 0) h = (h + 1) & (capacity_ - 1);
    slots_[h] = r;
    ++used_;
  }

  size_t slot_of(uint64_t key) const {
    return static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 20) & (capacity_ - 1);
  }

  size_t compact_and_sort() {
    size_t n = 0;
    for (size_t k = 0; k < capacity_; ++k) {
      if (slots_[k].units != 0) slots_[n++] = slots_[k];
    }
    std::sort(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(n),
              [](const RunRecord& a, const RunRecord& b) { return a.key < b.key; });
    return n;
  }

  void spill() {
    const size_t n = compact_and_sort();
    write_run_file(runs_.create(), denominator_, slots_.data(), n);
    std::fill(slots_.begin(), slots_.end(), RunRecord{});
    used_ = 0;
  }

  int64_t vocab_;
  uint64_t denominator_;
  TempRuns& runs_;
  int64_t dense_limit_ = 1;
  uint32_t dense_rows_ = 0;
  std::vector<uint64_t> offset_;
  // Huge pages: every add is a random access into these (see core/huge_pages.h).
  HugeVector<uint64_t> dense_;
  HugeVector<RunRecord> slots_;
  size_t capacity_ = 0, max_capacity_ = 0, used_ = 0, used_sorted_ = 0;
};

// A sorted stream of records for the k-way merge.
class Source {
 public:
  virtual ~Source() = default;
  virtual bool next(RunRecord& r) = 0;
};

class SpanSource : public Source {
 public:
  SpanSource(const RunRecord* b, const RunRecord* e) : p_(b), e_(e) {}
  bool next(RunRecord& r) override {
    if (p_ == e_) return false;
    r = *p_++;
    return true;
  }

 private:
  const RunRecord *p_, *e_;
};

class DenseSource : public Source {
 public:
  explicit DenseSource(const Counter& c) : c_(c) {}
  bool next(RunRecord& r) override {
    const auto& off = c_.offsets();
    for (; row_ < c_.dense_rows(); ++row_, cell_ = off[row_]) {
      for (; cell_ < off[row_ + 1]; ++cell_) {
        if (c_.dense()[cell_] != 0) {
          r = {make_key(row_, static_cast<uint32_t>(cell_ - off[row_])), c_.dense()[cell_]};
          ++cell_;
          return true;
        }
      }
    }
    return false;
  }

 private:
  const Counter& c_;
  uint32_t row_ = 0;
  uint64_t cell_ = 0;
};

uint64_t read_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int k = 7; k >= 0; --k) v = v << 8 | p[k];
  return v;
}

void put_u64(unsigned char* p, uint64_t v) {
  for (int k = 0; k < 8; ++k) p[k] = static_cast<unsigned char>(v >> (8 * k));
}

// Reads a run file in blocks, checking the header, the size, the order and the ids.
class FileSource : public Source {
 public:
  FileSource(const std::string& path, int64_t vocab) : path_(path), vocab_(vocab) {
    f_ = std::fopen(path.c_str(), "rb");
    if (f_ == nullptr) fail("cannot open: " + std::string(std::strerror(errno)));
    unsigned char h[kRunHeaderBytes];
    if (std::fread(h, 1, sizeof h, f_) != sizeof h) fail("truncated header (need 32 bytes)");
    if (std::memcmp(h, kRunMagic, 8) != 0) fail("byte 0: expected the magic LOOMCRUN");
    if (read_u64(h + 8) != kRunVersion) fail("byte 8: expected version 1");
    denominator_ = read_u64(h + 16);
    if (denominator_ == 0) fail("byte 16: the denominator is 0");
    count_ = read_u64(h + 24);
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec || count_ > (size - kRunHeaderBytes) / 16 || kRunHeaderBytes + count_ * 16 != size) {
      fail("size " + std::to_string(size) + " bytes does not hold the " + std::to_string(count_) +
           " records the header names (truncated or padded)");
    }
  }
  ~FileSource() override {
    if (f_) std::fclose(f_);
  }
  uint64_t denominator() const { return denominator_; }

  bool next(RunRecord& r) override {
    if (done_ == count_) return false;
    if (pos_ == buf_.size()) refill();
    const unsigned char* p = buf_.data() + pos_;
    pos_ += 16;
    r = {read_u64(p), read_u64(p + 8)};
    const uint64_t at = kRunHeaderBytes + done_ * 16;
    if (done_ > 0 && r.key <= last_) fail("byte " + std::to_string(at) + ": key out of order");
    if (key_row(r.key) >= vocab_ || key_col(r.key) >= vocab_) {
      fail("byte " + std::to_string(at) + ": word id beyond the vocabulary of " +
           std::to_string(vocab_));
    }
    if (r.units == 0) fail("byte " + std::to_string(at + 8) + ": a count of 0");
    last_ = r.key;
    ++done_;
    return true;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("co-occurrence run " + path_ + ": " + what);
  }
  void refill() {
    const uint64_t n = std::min<uint64_t>(4096, count_ - done_);
    buf_.resize(static_cast<size_t>(n * 16));
    if (std::fread(buf_.data(), 1, buf_.size(), f_) != buf_.size()) {
      fail("byte " + std::to_string(kRunHeaderBytes + done_ * 16) + ": unexpected end of file");
    }
    pos_ = 0;
  }

  std::string path_;
  int64_t vocab_;
  std::FILE* f_ = nullptr;
  uint64_t denominator_ = 0, count_ = 0, done_ = 0, last_ = 0;
  std::vector<unsigned char> buf_;
  size_t pos_ = 0;
};

// k-way merge of sorted sources, summing equal keys: X = units / denominator.
std::vector<Cooccurrence> merge(std::vector<std::unique_ptr<Source>>& sources,
                                uint64_t denominator) {
  using Head = std::pair<uint64_t, size_t>;  // (key, source)
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heap;
  std::vector<uint64_t> units(sources.size());
  RunRecord r;
  for (size_t s = 0; s < sources.size(); ++s) {
    if (sources[s]->next(r)) {
      heap.push({r.key, s});
      units[s] = r.units;
    }
  }
  std::vector<Cooccurrence> out;
  const double d = static_cast<double>(denominator);
  while (!heap.empty()) {
    const uint64_t key = heap.top().first;
    uint64_t sum = 0;
    while (!heap.empty() && heap.top().first == key) {
      const size_t s = heap.top().second;
      heap.pop();
      add_units(sum, units[s], key);
      if (sources[s]->next(r)) {
        heap.push({r.key, s});
        units[s] = r.units;
      }
    }
    out.push_back({static_cast<int32_t>(key_row(key)), static_cast<int32_t>(key_col(key)),
                   static_cast<double>(sum) / d});
  }
  return out;
}

// Counts sentences [begin, end) into c; reports words done when `report`.
void count_sentences(Counter& c, const EncodedCorpus& corpus, int64_t begin, int64_t end,
                     const std::vector<uint64_t>& weight, bool symmetric,
                     std::atomic<int64_t>& done, bool report, const ProgressFn& progress) {
  const int64_t window = static_cast<int64_t>(weight.size()) - 1;
  int64_t since = 0;
  for (int64_t s = begin; s < end; ++s) {
    const int32_t* ids = corpus.ids.data() + corpus.starts[s];
    const int64_t n = corpus.starts[s + 1] - corpus.starts[s];
    for (int64_t p = 1; p < n; ++p) {
      const uint32_t right = static_cast<uint32_t>(ids[p]);
      for (int64_t q = p - 1; q >= std::max<int64_t>(0, p - window); --q) {
        const uint32_t left = static_cast<uint32_t>(ids[q]);
        c.add(left, right, weight[p - q]);
        if (symmetric) c.add(right, left, weight[p - q]);
      }
    }
    since += n;
    if (since >= 100000 || s + 1 == end) {
      const int64_t d = done.fetch_add(since) + since;
      since = 0;
      if (report && progress) progress(d, static_cast<int64_t>(corpus.ids.size()));
    }
  }
}

}  // namespace

void check_options(const CooccurOptions& o) {
  if (o.window < 1 || o.window > 1000) throw Error("cooccur options: window must be 1..1000");
  if (!(o.memory_mb > 0) || o.memory_mb > 1e7) {
    throw Error("cooccur options: memory_mb must be > 0 (MiB)");
  }
}

std::vector<uint64_t> count_weights(int64_t window) {
  LOOM_ASSERT(window >= 1);
  uint64_t lcm = 1;
  for (int64_t d = 2; d <= window && lcm <= (uint64_t{1} << 32); ++d) {
    lcm = lcm / std::gcd(lcm, uint64_t(d)) * uint64_t(d);
  }
  std::vector<uint64_t> w(static_cast<size_t>(window) + 1);
  const bool exact = lcm <= (uint64_t{1} << 32);
  w[0] = exact ? lcm : uint64_t{1} << 32;
  for (int64_t d = 1; d <= window; ++d) {
    w[d] = exact ? lcm / uint64_t(d)
                 : static_cast<uint64_t>(std::llround(4294967296.0 / static_cast<double>(d)));
  }
  return w;
}

void write_run_file(const std::string& path, uint64_t denominator,
                    const std::vector<RunRecord>& records) {
  write_run_file(path, denominator, records.data(), records.size());
}

void write_run_file(const std::string& path, uint64_t denominator, const RunRecord* records,
                    size_t n_records) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw Error("cooccur: cannot write " + path + ": " + std::strerror(errno));
  unsigned char h[kRunHeaderBytes];
  std::memcpy(h, kRunMagic, 8);
  put_u64(h + 8, kRunVersion);
  put_u64(h + 16, denominator);
  put_u64(h + 24, n_records);
  bool ok = std::fwrite(h, 1, sizeof h, f) == sizeof h;
  std::vector<unsigned char> buf;
  for (size_t k = 0; k < n_records && ok; k += 4096) {
    const size_t n = std::min<size_t>(4096, n_records - k);
    buf.resize(n * 16);
    for (size_t m = 0; m < n; ++m) {
      put_u64(buf.data() + 16 * m, records[k + m].key);
      put_u64(buf.data() + 16 * m + 8, records[k + m].units);
    }
    ok = std::fwrite(buf.data(), 1, buf.size(), f) == buf.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) throw Error("cooccur: writing " + path + " failed: " + std::strerror(errno));
}

std::vector<Cooccurrence> merge_run_files(const std::vector<std::string>& paths,
                                          int64_t vocab_size) {
  std::vector<std::unique_ptr<Source>> sources;
  uint64_t denominator = 0;
  for (const auto& p : paths) {
    auto f = std::make_unique<FileSource>(p, vocab_size);
    if (denominator != 0 && f->denominator() != denominator) {
      throw Error("co-occurrence run " + p + ": byte 16: denominator " +
                  std::to_string(f->denominator()) + ", the other runs have " +
                  std::to_string(denominator));
    }
    denominator = f->denominator();
    sources.push_back(std::move(f));
  }
  return merge(sources, denominator == 0 ? 1 : denominator);
}

std::vector<Cooccurrence> count_cooccurrences(const EncodedCorpus& corpus, int64_t vocab_size,
                                              const CooccurOptions& opt, ThreadPool& pool,
                                              CooccurStats* stats, const ProgressFn& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  check_options(opt);
  if (vocab_size < 1 || vocab_size > INT32_MAX)
    throw Error("cooccur: vocabulary size out of range");
  if (corpus.ids.empty()) throw Error("cooccur: no corpus word is in the vocabulary");
  const std::vector<uint64_t> weight = count_weights(opt.window);
  TempRuns runs(opt.temp_dir);
  const size_t budget =
      static_cast<size_t>(opt.memory_mb * 1048576.0 / static_cast<double>(pool.size()));
  std::vector<std::unique_ptr<Counter>> counters;
  std::mutex mu;
  std::atomic<int64_t> done{0};
  pool.parallel_for(corpus.sentences(), 1, [&](int64_t b, int64_t e) {
    auto c = std::make_unique<Counter>(vocab_size, budget, weight[0], runs);
    count_sentences(*c, corpus, b, e, weight, opt.symmetric, done, b == 0, progress);
    c->finish();
    std::lock_guard<std::mutex> lock(mu);
    counters.push_back(std::move(c));
  });
  const std::vector<std::string> spilled = runs.paths();
  std::vector<std::unique_ptr<Source>> sources;
  for (const auto& c : counters) {
    sources.push_back(std::make_unique<DenseSource>(*c));
    sources.push_back(std::make_unique<SpanSource>(c->sorted_begin(), c->sorted_end()));
  }
  for (const auto& p : spilled) sources.push_back(std::make_unique<FileSource>(p, vocab_size));
  std::vector<Cooccurrence> out = merge(sources, weight[0]);
  if (stats) {
    stats->pairs = static_cast<int64_t>(out.size());
    stats->runs_spilled = static_cast<int64_t>(spilled.size());
    stats->dense_limit = counters.empty() ? 0 : counters.front()->dense_limit();
    stats->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return out;
}

}  // namespace loom::wordvec
