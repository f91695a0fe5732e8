// word2vec training: the Huffman tree and the noise distribution, vocabulary rules, that every
// architecture learns planted structure, and the deterministic mode's thread-count independence.
#include "wordvec/word2vec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "core/threads.h"
#include "test_util.h"
#include "wordvec/huffman.h"

namespace loom::wordvec {
namespace {

TEST(Huffman, PrefixFreeCodesWithKraftEqualityAndFrequentWordsShortest) {
  std::vector<int64_t> counts = {50, 30, 30, 12, 9, 5, 5, 2, 1, 1};
  HuffmanTree t = build_huffman(counts);
  ASSERT_EQ(t.offsets.size(), counts.size() + 1);
  double kraft = 0;
  std::set<std::string> codes;
  for (size_t w = 0; w < counts.size(); ++w) {
    std::string code;
    for (int64_t k = t.offsets[w]; k < t.offsets[w + 1]; ++k) {
      code += char('0' + t.codes[k]);
      EXPECT_GE(t.points[k], 0);
      EXPECT_LT(t.points[k], int32_t(counts.size()) - 1);
    }
    EXPECT_EQ(t.points[t.offsets[w]], int32_t(counts.size()) - 2) << "paths start at the root";
    kraft += std::ldexp(1.0, -int(code.size()));
    codes.insert(code);
    if (w > 0) {
      EXPECT_GE(code.size(), size_t(t.offsets[w] - t.offsets[w - 1]));
    }
  }
  EXPECT_DOUBLE_EQ(kraft, 1.0);
  EXPECT_EQ(codes.size(), counts.size());
  for (const auto& a : codes) {
    for (const auto& b : codes) {
      if (a != b) {
        EXPECT_NE(b.rfind(a, 0), 0u) << a << " prefixes " << b;
      }
    }
  }
  // Weighted path length of an optimal code for these counts (the sum of merged weights: 375).
  int64_t cost = 0;
  for (size_t w = 0; w < counts.size(); ++w) cost += counts[w] * (t.offsets[w + 1] - t.offsets[w]);
  EXPECT_EQ(cost, 375);
}

TEST(AliasTable, DrawsFollowUnigramToThePower) {
  std::vector<int64_t> counts = {1000, 300, 100, 10, 1};
  AliasTable table(counts, 0.75);
  double z = 0;
  for (auto c : counts) z += std::pow(double(c), 0.75);
  std::vector<int64_t> hits(counts.size(), 0);
  Rng rng(3);
  const int n = 2000000;
  for (int i = 0; i < n; ++i) ++hits[table.draw(rng)];
  for (size_t i = 0; i < counts.size(); ++i) {
    const double p = std::pow(double(counts[i]), 0.75) / z;
    EXPECT_NEAR(table.probability(int32_t(i)), p, 1e-12);
    EXPECT_NEAR(double(hits[i]) / n, p, 4 * std::sqrt(p * (1 - p) / n) + 1e-6) << i;
  }
}

TEST(Vocab, MinCountMaxVocabAndOrder) {
  const std::string text = "b a c a b a d\n e e e b\n";
  Vocab v = build_vocab(text, {2, 0}, "t");
  EXPECT_EQ(v.words, (std::vector<std::string>{"b", "a", "e"})) << "ties keep first-use order";
  EXPECT_EQ(v.counts, (std::vector<int64_t>{3, 3, 3}));
  EXPECT_EQ(v.corpus_words, 11);
  EXPECT_EQ(v.kept_words, 9);
  Vocab top = build_vocab(text, {1, 2}, "t");
  EXPECT_EQ(top.words, (std::vector<std::string>{"b", "a"}));
  EncodedCorpus c = encode_corpus(text, v);
  EXPECT_EQ(c.ids, (std::vector<int32_t>{0, 1, 1, 0, 1, 2, 2, 2, 0}));
  EXPECT_EQ(c.starts, (std::vector<int64_t>{0, 5, 9})) << "a sentence per line";
  EXPECT_EQ(c.raw_words, 11);
}

TEST(Vocab, EmptyCorpusAndNothingAboveMinCountAreErrors) {
  EXPECT_THROW(build_vocab(" \n\n", {1, 0}, "empty.txt"), Error);
  try {
    build_vocab("a b c\n", {5, 0}, "small.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "small.txt: no word occurs min_count=5 times (3 distinct words, 3 tokens)");
  }
}

// Sentences drawn from eight topics that share no words: after training, words of topic x must be
// closer to each other than to topic y's words. Eight topics, not two: with two, half of the
// negative samples of skip-gram are the context's own topic, and whether it separates the topics
// at all came down to thread scheduling.
std::string planted_topic_corpus(int sentences) {
  Rng rng(11);
  std::string s;
  for (int i = 0; i < sentences; ++i) {
    const std::string topic(1, "xyabcdef"[i % 8]);
    for (int k = 0; k < 12; ++k) s += std::string(topic) + std::to_string(rng.below(8)) + " ";
    s += "\n";
  }
  return s;
}

double cosine(const Vectors& v, const std::string& a, const std::string& b) {
  const float *x = v.row(v.find(a)), *y = v.row(v.find(b));
  double d = 0, nx = 0, ny = 0;
  for (int64_t k = 0; k < v.dim(); ++k) {
    d += double(x[k]) * y[k];
    nx += double(x[k]) * x[k];
    ny += double(y[k]) * y[k];
  }
  return d / std::sqrt(nx * ny);
}

void expect_topics_learned(const Word2VecOptions& opt) {
  const std::string text = planted_topic_corpus(3000);
  Word2Vec model(build_vocab(text, {1, 0}, "topics"), opt);
  ThreadPool pool(2);
  TrainStats st = model.train(text, pool);
  EXPECT_EQ(st.raw_words, 3000 * 12 * opt.epochs);
  Vectors v = model.vectors();
  double within = 0, across = 0;
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j) {
      if (i != j) within += cosine(v, "x" + std::to_string(i), "x" + std::to_string(j)) / 56;
      across += cosine(v, "x" + std::to_string(i), "y" + std::to_string(j)) / 64;
    }
  EXPECT_GT(within, across + 0.3) << "skip_gram " << opt.skip_gram << " hs "
                                  << opt.hierarchical_softmax << " within " << within
                                  << " across " << across;
}

TEST(Word2Vec, EveryArchitectureLearnsPlantedTopics) {
  for (bool sg : {true, false})
    for (bool hs : {false, true}) {
      Word2VecOptions o;
      o.skip_gram = sg;
      o.hierarchical_softmax = hs;
      o.negative = hs ? 0 : 5;
      o.dim = 20;
      o.epochs = 3;
      o.sample = 0;
      o.job_words = 2000;
      o.deterministic = true;  // fixed job order: the outcome must not depend on scheduling
      expect_topics_learned(o);
    }
}

std::vector<float> train_ptb(int threads, bool deterministic, bool skip_gram, uint64_t seed = 7) {
  const std::string path = test::data_path("corpora/ptb/ptb.valid.txt");
  std::string text = read_file(path);
  Word2VecOptions o;
  o.skip_gram = skip_gram;
  o.dim = 24;
  o.epochs = 1;
  o.seed = seed;
  o.deterministic = deterministic;
  o.job_words = 1000;
  o.hierarchical_softmax = !skip_gram;
  Word2Vec model(build_vocab(text, {3, 0}, path), o);
  ThreadPool pool(threads);
  model.train(text, pool);
  return model.vectors().data();
}

TEST(Word2Vec, DeterministicModeIsBitIdenticalAtAnyThreadCount) {
  LOOM_REQUIRE_DATA(test::data_path("corpora/ptb/ptb.valid.txt"));
  for (bool sg : {true, false}) {
    const std::vector<float> one = train_ptb(1, true, sg);
    for (int t : {2, 3, 5}) {
      const std::vector<float> many = train_ptb(t, true, sg);
      ASSERT_EQ(one.size(), many.size());
      EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * 4), 0) << t << " threads";
    }
    // The seed matters, so the test above compares real training, not an untouched init.
    EXPECT_NE(one, train_ptb(1, true, sg, 8));
  }
}

TEST(Word2Vec, OneHogwildThreadRepeatsExactly) {
  LOOM_REQUIRE_DATA(test::data_path("corpora/ptb/ptb.valid.txt"));
  EXPECT_EQ(train_ptb(1, false, true), train_ptb(1, false, true));
}

TEST(Word2Vec, BadOptionsAndEmptyCorporaAreErrors) {
  Word2VecOptions o;
  o.negative = 0;
  EXPECT_THROW(check_options(o), Error);
  o = {};
  o.window = 0;
  EXPECT_THROW(check_options(o), Error);
  Word2Vec model(build_vocab("a a b\n", {1, 0}, "t"), Word2VecOptions{});
  ThreadPool pool(1);
  EXPECT_THROW(model.train("c d\n", pool), Error) << "no corpus word in the vocabulary";
}

}  // namespace
}  // namespace loom::wordvec
