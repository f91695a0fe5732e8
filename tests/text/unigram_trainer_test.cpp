// Unigram trainer vs spm_train (tests/reference/text/sp_unigram_compare.py) on PTB valid, vocab 1000:
// piece overlap and mean tokens per line, with stated tolerances; the trained model round-trips
// through the .model writer and encodes every line.
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

TEST(UnigramTrainer, ComparableToSpmTrain) {
  auto ref =
      loom::test::load_golden_json("text/sp_unigram_compare.json");
  const std::string corpus = loom::test::data_path(ref["corpus"].get<std::string>());
  LOOM_REQUIRE_DATA(corpus);
  auto lines = read_lines(corpus);
  ASSERT_EQ(lines.size(), ref["lines"].get<size_t>());
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& l : lines) sentences.emplace_back(l, 1);

  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = ref["vocab_size"];
  opt.character_coverage = 1.0f;
  loom::ThreadPool pool(2);
  auto proto = loom::text::train_unigram(sentences, opt, &pool);
  ASSERT_EQ(proto.pieces.size(), static_cast<size_t>(opt.vocab_size));

  // Through the writer and reader, then encode the corpus with the result.
  auto tok = loom::text::SentencePieceTokenizer::from_model_bytes(
      loom::text::serialize_sentencepiece_model(proto), "trained.model");
  std::vector<std::string_view> views(lines.begin(), lines.end());
  size_t tokens = 0;
  for (const auto& ids : tok.encode_batch(views, &pool)) tokens += ids.size();
  // As with spm_train, the '<' '>' of PTB's "<unk>" never enter the vocabulary (the trainer
  // treats meta-piece spellings as boundaries); every other character is covered.
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
  const double ours = static_cast<double>(tokens) / lines.size();
  const double spm = ref["mean_tokens_per_line"];

  std::unordered_set<std::string> spm_pieces;
  for (const auto& p : ref["pieces"]) spm_pieces.insert(p.get<std::string>());
  size_t shared = 0;
  for (size_t i = 3; i < proto.pieces.size(); ++i)
    shared += spm_pieces.count(proto.pieces[i].piece);
  const double overlap = static_cast<double>(shared) / spm_pieces.size();
  std::string only_ours, only_spm;
  std::unordered_set<std::string> our_pieces;
  for (size_t i = 3; i < proto.pieces.size(); ++i) {
    our_pieces.insert(proto.pieces[i].piece);
    if (!spm_pieces.count(proto.pieces[i].piece) && only_ours.size() < 400)
      only_ours += proto.pieces[i].piece + " ";
  }
  for (const auto& p : ref["pieces"]) {
    if (!our_pieces.count(p.get<std::string>()) && only_spm.size() < 400)
      only_spm += p.get<std::string>() + " ";
  }
  std::printf("only ours: %s\nonly spm: %s\n", only_ours.c_str(), only_spm.c_str());
  std::printf(
      "unigram 1000 on ptb.valid: piece overlap with spm_train %.1f%%, tokens/line %.3f "
      "(spm %.3f, %+.2f%%)\n",
      100 * overlap, ours, spm, 100 * (ours / spm - 1));
  EXPECT_GT(unk, 0u);
  // Tolerances: tokens per line within 2% of spm_train's model; at least 90% shared pieces.
  EXPECT_NEAR(ours / spm, 1.0, 0.02);
  EXPECT_GE(overlap, 0.90);
}

}  // namespace

namespace {

// The committed spm_train model of tests/reference/text/sp_reference.py (tinyshakespeare, vocab 1000,
// nmt_nfkc): train Loom with the same normaliser (its precompiled charsmap) and compare.
TEST(UnigramTrainer, ComparableToSpmTrainOnTinyShakespeare) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "1 MB training run: Release only (the PTB comparison covers the sanitizer build)";
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "1 MB training run: Release only (the PTB comparison covers the sanitizer build)";
#endif
#endif
  const std::string corpus = loom::test::data_path("corpora/tinyshakespeare/input.txt");
  LOOM_REQUIRE_DATA(corpus);
  auto spm_model =
      loom::text::SentencePieceTokenizer::load(loom::test::golden_path("text/sp_unigram1k.model"));
  auto golden =
      loom::test::load_golden_json("text/sp_golden_unigram1k.json");
  const auto& g = golden["corpora"]["tinyshakespeare"];
  auto lines = read_lines(corpus);
  std::vector<std::pair<std::string, int64_t>> sentences;
  for (const auto& l : lines) sentences.emplace_back(l, 1);
  loom::text::UnigramTrainerOptions opt;
  opt.vocab_size = 1000;
  opt.character_coverage = 1.0f;
  opt.normalizer = spm_model.proto().normalizer_spec;
  loom::ThreadPool pool(2);
  auto tok = loom::text::SentencePieceTokenizer::from_proto(
      loom::text::train_unigram(sentences, opt, &pool));
  std::vector<std::string_view> views(lines.begin(), lines.end());
  size_t tokens = 0;
  for (const auto& ids : tok.encode_batch(views, &pool)) tokens += ids.size();
  size_t shared = 0;
  for (int32_t i = 3; i < tok.vocab_size(); ++i) {
    shared += spm_model.piece_to_id(tok.id_to_piece(i)) != spm_model.unk_id();
  }
  const double overlap = static_cast<double>(shared) / (spm_model.vocab_size() - 3);
  const double ratio = static_cast<double>(tokens) / g["tokens"].get<double>();
  std::printf(
      "unigram 1000 on tinyshakespeare: piece overlap %.1f%%, tokens %zu vs spm %zu (%+.2f%%)\n",
      100 * overlap, tokens, g["tokens"].get<size_t>(), 100 * (ratio - 1));
  EXPECT_NEAR(ratio, 1.0, 0.02);
  EXPECT_GE(overlap, 0.90);
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
