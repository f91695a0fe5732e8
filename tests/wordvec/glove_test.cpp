// GloVe: co-occurrence counts and training against tests/reference/wordvec/glove_reference.py,
// counts independent of memory budget (spilled runs) and threads, the run-file reader's checks,
// the deterministic mode's thread-count independence, and bad input.
#include "wordvec/glove.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "core/threads.h"
#include "test_util.h"
#include "wordvec/cooccur.h"

namespace loom::wordvec {
namespace {

using nlohmann::json;

json golden() { return json::parse(read_file(test::golden_path("wordvec/glove_golden.json"))); }

std::vector<Cooccurrence> count(const std::string& text, const Vocab& v, CooccurOptions o,
                                int threads = 1, CooccurStats* st = nullptr) {
  ThreadPool pool(threads);
  return count_cooccurrences(encode_corpus(text, v), v.size(), o, pool, st);
}

// Counts are exact (integer units over lcm(1..window)), so they equal the reference's exact
// fractions rounded once to f64: compared for equality.
TEST(GloveGolden, CountsEqualTheReferenceExactly) {
  const json g = golden();
  const std::string text = g["corpus"];
  Vocab v = build_vocab(text, {g["min_count"].get<int64_t>(), 0}, "golden");
  ASSERT_EQ(v.words, g["vocab"].get<std::vector<std::string>>());
  for (const auto& c : g["cooccur"]) {
    CooccurOptions o;
    o.window = c["window"];
    o.symmetric = c["symmetric"];
    const auto got = count(text, v, o);
    const auto& want = c["pairs"];
    ASSERT_EQ(got.size(), want.size()) << "window " << o.window;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].row, want[k][0].get<int32_t>()) << k;
      EXPECT_EQ(got[k].col, want[k][1].get<int32_t>()) << k;
      EXPECT_EQ(got[k].count, want[k][2].get<double>()) << "window " << o.window << " pair " << k;
    }
  }
}

void expect_rows(const Glove& m, bool context, const json& want, const json& want_bias) {
  for (int32_t w = 0; w < int32_t(want.size()); ++w) {
    for (size_t k = 0; k < want[w].size(); ++k) {
      const double r = want[w][k];
      EXPECT_NEAR(m.row(w, context)[k], r, 1e-6) << w << "," << k;
    }
    const double b = want_bias[w];
    EXPECT_NEAR(m.bias(w, context), b, 1e-6) << "bias " << w;
  }
}

// Two epochs of single-thread AdaGrad, in sorted order and with Loom's seeded shuffle (which the
// reference repeats): f32 parameters against the reference's f64 arithmetic, to 1e-6 (measured:
// 1.7e-8 at most on values of about 0.1; costs to 2e-8 relative).
TEST(GloveGolden, TwoEpochsMatchTheReference) {
  const json g = golden();
  const std::string text = g["corpus"];
  Vocab v = build_vocab(text, {g["min_count"].get<int64_t>(), 0}, "golden");
  for (const auto& r : g["glove"]) {
    CooccurOptions co;
    co.window = r["window"];
    const auto pairs = count(text, v, co);
    GloveOptions o;
    o.dim = r["dim"];
    o.x_max = r["x_max"];
    o.alpha = r["alpha"];
    o.eta = r["eta"];
    o.seed = r["seed"];
    o.epochs = r["epochs"];
    o.shuffle = r["shuffle"];
    Glove m(v, o);
    ThreadPool pool(1);
    GloveStats st = m.train(pairs, pool);
    ASSERT_EQ(st.epoch_cost.size(), r["cost"].size());
    for (size_t e = 0; e < st.epoch_cost.size(); ++e) {
      const double want = r["cost"][e];
      EXPECT_NEAR(st.epoch_cost[e], want, 1e-6 * want) << r["name"] << " epoch " << e;
    }
    expect_rows(m, false, r["W"], r["b"]);
    expect_rows(m, true, r["Wc"], r["bc"]);
    Vectors out = m.vectors();
    EXPECT_FLOAT_EQ(out.row(3)[2], m.row(3, false)[2] + m.row(3, true)[2]) << "W + W~";
  }
}

// Zipf-like text over 400 words: enough distinct pairs to fill a small budget many times.
std::string zipf_corpus(int sentences, uint64_t seed) {
  Rng rng(seed);
  std::string s;
  for (int i = 0; i < sentences; ++i) {
    const int len = 3 + int(rng.below(30));
    for (int k = 0; k < len; ++k) {
      const double u = rng.uniform_double();
      s += "w" + std::to_string(int(std::pow(400.0, u)) - 1) + " ";
    }
    s += "\n";
  }
  return s;
}

void expect_same(const std::vector<Cooccurrence>& a, const std::vector<Cooccurrence>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].row, b[k].row) << k;
    ASSERT_EQ(a[k].col, b[k].col) << k;
    ASSERT_EQ(a[k].count, b[k].count) << k;
  }
}

TEST(Cooccur, SpilledRunsAndThreadsGiveTheInMemoryCounts) {
  const std::string text = zipf_corpus(3000, 5);
  Vocab v = build_vocab(text, {1, 0}, "zipf");
  const std::string dir = ::testing::TempDir() + "/cooccur_spill";
  std::filesystem::create_directories(dir);
  for (bool symmetric : {true, false}) {
    CooccurOptions o;
    o.window = 10;
    o.symmetric = symmetric;
    o.temp_dir = dir;
    CooccurStats big, small, small2;
    const auto in_memory = count(text, v, o, 1, &big);
    EXPECT_EQ(big.runs_spilled, 0);
    EXPECT_GT(big.pairs, 20000);
    o.memory_mb = 0.2;  // 64 KiB of hash table: a run every 3072 new pairs
    expect_same(count(text, v, o, 1, &small), in_memory);
    EXPECT_GE(small.runs_spilled, 20);
    EXPECT_LT(small.dense_limit, big.dense_limit);
    expect_same(count(text, v, o, 2, &small2), in_memory);
    EXPECT_GE(small2.runs_spilled, 20);
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << "run files are removed";
  }
  // Symmetric counts are symmetric; the sum over pairs is 2 * sum over tokens of H(reach).
  CooccurOptions o;
  o.window = 10;
  const auto x = count(text, v, o);
  double total = 0;
  for (const auto& c : x) total += c.count;
  double want = 0;
  const EncodedCorpus corpus = encode_corpus(text, v);
  for (int64_t s = 0; s < corpus.sentences(); ++s) {
    for (int64_t p = 0; p < corpus.starts[s + 1] - corpus.starts[s]; ++p) {
      for (int64_t d = 1; d <= std::min<int64_t>(p, 10); ++d) want += 2.0 / double(d);
    }
  }
  EXPECT_NEAR(total, want, 1e-9 * want);
}

TEST(Cooccur, WideWindowsUseRoundedUnits) {
  EXPECT_EQ(count_weights(15)[0], 360360u) << "lcm(1..15)";
  EXPECT_EQ(count_weights(22)[0], 232792560u) << "lcm(1..22) still fits 32 bits";
  const auto w = count_weights(23);
  EXPECT_EQ(w[0], uint64_t{1} << 32);
  EXPECT_EQ(w[3], 1431655765u) << "round(2^32 / 3)";
}

std::string run_path(const std::string& name) { return ::testing::TempDir() + "/" + name; }

void expect_error(const std::vector<std::string>& paths, const std::string& part) {
  try {
    merge_run_files(paths, 10);
    FAIL() << "accepted: " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Cooccur, RunFilesMergeAndBadOnesAreNamedErrors) {
  const std::string a = run_path("a.run"), b = run_path("b.run");
  write_run_file(a, 6, {{0 << 0 | 1, 3}, {uint64_t{2} << 32 | 5, 6}});
  write_run_file(b, 6, {{1, 2}, {uint64_t{9} << 32 | 9, 12}});
  const auto m = merge_run_files({a, b}, 10);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0].row, 0);
  EXPECT_EQ(m[0].col, 1);
  EXPECT_EQ(m[0].count, 5.0 / 6.0);
  EXPECT_EQ(m[1].row, 2);
  EXPECT_EQ(m[1].count, 1.0);
  EXPECT_EQ(m[2].count, 2.0);

  std::string bytes = read_file(a);
  write_file_atomic(run_path("short.run"), bytes.substr(0, bytes.size() - 3));
  expect_error({run_path("short.run")}, "short.run: size 61 bytes does not hold the 2 records");
  write_file_atomic(run_path("head.run"), bytes.substr(0, 20));
  expect_error({run_path("head.run")}, "truncated header");
  std::string magic = bytes;
  magic[0] = 'X';
  write_file_atomic(run_path("magic.run"), magic);
  expect_error({run_path("magic.run")}, "byte 0: expected the magic LOOMCRUN");
  write_run_file(run_path("order.run"), 6, {{5, 1}, {4, 1}});
  expect_error({run_path("order.run")}, "order.run: byte 48: key out of order");
  write_run_file(run_path("id.run"), 6, {{uint64_t{10} << 32, 1}});
  expect_error({run_path("id.run")}, "byte 32: word id beyond the vocabulary of 10");
  write_run_file(run_path("denom.run"), 7, {{1, 1}});
  expect_error({a, run_path("denom.run")}, "denominator 7, the other runs have 6");
  expect_error({run_path("missing.run")}, "missing.run: cannot open");
}

std::vector<float> train_params(int threads, const std::vector<Cooccurrence>& pairs, const Vocab& v,
                                std::vector<double>* cost) {
  GloveOptions o;
  o.dim = 20;
  o.epochs = 3;
  o.x_max = 10;
  o.seed = 3;
  o.deterministic = true;
  Glove m(v, o);
  ThreadPool pool(threads);
  *cost = m.train(pairs, pool).epoch_cost;
  return m.vectors().data();
}

TEST(Glove, DeterministicModeIsBitIdenticalAtAnyThreadCount) {
  const std::string text = zipf_corpus(4000, 9);
  Vocab v = build_vocab(text, {1, 0}, "zipf");
  CooccurOptions co;
  co.window = 5;
  const auto pairs = count(text, v, co);
  ASSERT_GT(pairs.size(), 4u * kGloveJobPairs) << "several jobs a block";
  std::vector<double> c1, c2, c3;
  const auto v1 = train_params(1, pairs, v, &c1);
  const auto v2 = train_params(2, pairs, v, &c2);
  const auto v3 = train_params(3, pairs, v, &c3);
  EXPECT_EQ(v1, v2);
  EXPECT_EQ(v1, v3);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(c1, c3);
  EXPECT_LT(c1[2], 0.8 * c1[0]) << "the cost falls";
}

TEST(Glove, BadInputIsANamedError) {
  ThreadPool pool(1);
  Vocab v = build_vocab("a b a b c\n", {1, 0}, "t");
  CooccurOptions co;
  co.memory_mb = 0.0001;
  co.temp_dir = "/nonexistent/loom-glove";
  const std::string text = zipf_corpus(200, 1);
  Vocab z = build_vocab(text, {1, 0}, "zipf");
  try {
    count_cooccurrences(encode_corpus(text, z), z.size(), co, pool);
    FAIL() << "a run file in a missing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create a run file in '/nonexistent/loom-glove'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(count_cooccurrences(encode_corpus("x y\n", v), v.size(), {}, pool), Error)
      << "no corpus word in the vocabulary";
  co = {};
  co.window = 0;
  EXPECT_THROW(count_cooccurrences(encode_corpus("a b\n", v), v.size(), co, pool), Error);
  GloveOptions o;
  o.x_max = 0;
  EXPECT_THROW(Glove(v, o), Error);
  Glove m(v, GloveOptions{});
  EXPECT_THROW(m.train({}, pool), Error) << "no entries";
  try {
    m.train({{0, 1, 1.0}, {0, 7, 1.0}}, pool);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "glove: co-occurrence entry 1 (0, 7, 1.000000): expected ids below 3 and a "
              "count > 0");
  }
}

}  // namespace
}  // namespace loom::wordvec
