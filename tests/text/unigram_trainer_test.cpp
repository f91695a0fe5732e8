// Unigram trainer vs spm_train (tests/reference/text/sp_unigram_compare.py): on every corpus the
// same pieces with bit-identical scores, against Debian's spm_train 0.1.97 (legacy pruning) and
// against its source with the upstream pruning fix (Loom's default); the trained model
// round-trips through the .model writer and encodes every line.
#include "text/unigram_trainer.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/mapped_file.h"
#include "core/threads.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/sentencepiece.h"

namespace {

constexpr bool kSanitized = loom::test::kSanitizerBuild;

std::vector<std::string> read_lines(const std::string& path) {
  std::string data = loom::read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    lines.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

// Every case of the golden: the same pieces in the same order with bit-identical float scores.
// Under the sanitizers only the cases of up to 1,000 lines run (the rest take minutes there).
TEST(UnigramTrainer, EqualsSpmTrainOnEveryCorpus) {
  auto ref = loom::test::load_golden_json("text/sp_unigram_compare.json");
  ASSERT_GE(ref["cases"].size(), 7u);
  loom::ThreadPool pool(2);
  size_t ran = 0;
  for (const auto& c : ref["cases"]) {
    const std::string name = c["name"];
    const std::string corpus = loom::test::data_path(c["corpus"].get<std::string>());
    LOOM_REQUIRE_DATA(corpus);
    auto lines = read_lines(corpus);
    const size_t n = c["lines"];
    ASSERT_GE(lines.size(), n) << name;
    if (kSanitized && n > 1000) continue;
    lines.resize(n);
    std::vector<std::pair<std::string, int64_t>> sentences;
    for (const auto& l : lines) sentences.emplace_back(l, 1);
    loom::text::UnigramTrainerOptions opt;
    opt.vocab_size = c["vocab_size"];
    opt.character_coverage = c["character_coverage"].get<float>();
    opt.num_splits = c["num_threads"];
    opt.legacy_prune_total = c["reference"] == "legacy";
    const auto proto = loom::text::train_unigram(sentences, opt, &pool);
    const auto& pieces = c["pieces"];
    ASSERT_EQ(proto.pieces.size(), pieces.size() + 3) << name;
    size_t same = 0;
    for (size_t i = 0; i < pieces.size(); ++i) {
      const auto& p = proto.pieces[i + 3];
      same += p.piece == pieces[i][0].get<std::string>() && p.score == pieces[i][1].get<float>();
    }
    std::printf("%s: %zu of %zu pieces and scores equal spm_train's (%s)\n", name.c_str(), same,
                pieces.size(), c["reference"].get<std::string>().c_str());
    EXPECT_EQ(same, pieces.size()) << name;
    ++ran;
  }
  // Under the sanitizers: Lee and TinyStories (up to 1,000 lines); otherwise every case.
  EXPECT_EQ(ran, kSanitized ? 2u : ref["cases"].size());
}

// The trained model round-trips through the .model writer and reader and encodes PTB as
// libsentencepiece does with spm_train's model: the '<' '>' of PTB's "<unk>" never enter the
// vocabulary (meta-piece spellings are boundaries), every other character is covered.
TEST(UnigramTrainer, TrainedModelEncodesTheCorpus) {
  const std::string corpus = loom::test::data_path("corpora/ptb/ptb.valid.txt");
  LOOM_REQUIRE_DATA(corpus);
  auto lines = read_lines(corpus);
  lines.resize(kSanitized ? 500 : lines.size());
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& l : lines) sentences.emplace_back(l, 1);
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = 500;
  opt.character_coverage = 1.0f;
  loom::ThreadPool pool(2);
  auto proto = loom::text::train_unigram(sentences, opt, &pool);
  ASSERT_EQ(proto.pieces.size(), static_cast<size_t>(opt.vocab_size));
  auto tok = loom::text::SentencePieceTokenizer::from_model_bytes(
      loom::text::serialize_sentencepiece_model(proto), "trained.model");
  size_t unk = 0;
  for (const auto& line : lines) {
    auto e = tok.encode(line);
    for (size_t k = 0; k < e.ids.size(); ++k) {
      if (e.ids[k] != tok.unk_id()) continue;
      ++unk;
      const std::string surface =
          line.substr(e.offsets[k].first, e.offsets[k].second - e.offsets[k].first);
      ASSERT_TRUE(surface == "<" || surface == ">") << surface;
    }
  }
  EXPECT_GT(unk, 0u);
}

}  // namespace

namespace {

// The committed spm_train model of tests/reference/text/sp_reference.py (tinyshakespeare, vocab
// 1000, nmt_nfkc, one thread): Loom with the same normaliser (its precompiled charsmap), one
// split and legacy pruning gives the same pieces with the same scores.
TEST(UnigramTrainer, EqualsSpmTrainWithNmtNfkcOnTinyShakespeare) {
  if (kSanitized) GTEST_SKIP() << "1 MB training run: Release only";
  const std::string corpus = loom::test::data_path("corpora/tinyshakespeare/input.txt");
  LOOM_REQUIRE_DATA(corpus);
  auto spm_model =
      loom::text::SentencePieceTokenizer::load(loom::test::golden_path("text/sp_unigram1k.model"));
  auto lines = read_lines(corpus);
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& l : lines) sentences.emplace_back(l, 1);
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = 1000;
  opt.character_coverage = 1.0f;
  opt.num_splits = 1;
  opt.legacy_prune_total = true;
  opt.normalizer = spm_model.proto().normalizer_spec;
  loom::ThreadPool pool(2);
  const auto proto = loom::text::train_unigram(sentences, opt, &pool);
  const auto& want = spm_model.proto().pieces;
  ASSERT_EQ(proto.pieces.size(), want.size());
  size_t same = 0;
  for (size_t i = 3; i < want.size(); ++i)
    same += proto.pieces[i].piece == want[i].piece && proto.pieces[i].score == want[i].score;
  std::printf("unigram 1000 nmt_nfkc on tinyshakespeare: %zu of %zu pieces equal spm_train's\n",
              same, want.size() - 3);
  EXPECT_EQ(same, want.size() - 3);
}

}  // namespace

namespace {

TEST(UnigramTrainer, SameResultForAnyThreadCount) {
  const std::string corpus = loom::test::data_path("corpora/ptb/ptb.test.txt");
  LOOM_REQUIRE_DATA(corpus);
  auto lines = read_lines(corpus);
  lines.resize(1000);
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& l : lines) sentences.emplace_back(l, 1);
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = 300;
  auto one = loom::text::train_unigram(sentences, opt, nullptr);
  loom::ThreadPool pool(2);
  auto two = loom::text::train_unigram(sentences, opt, &pool);
  ASSERT_EQ(one.pieces.size(), 300u);
  ASSERT_EQ(two.pieces.size(), one.pieces.size());
  for (size_t i = 0; i < one.pieces.size(); ++i) {
    EXPECT_EQ(one.pieces[i].piece, two.pieces[i].piece) << i;
    EXPECT_EQ(one.pieces[i].score, two.pieces[i].score) << i;
  }
  EXPECT_EQ(loom::text::serialize_sentencepiece_model(one),
            loom::text::serialize_sentencepiece_model(two));
}

}  // namespace
