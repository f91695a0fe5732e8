// Byte-level BPE trainer reproduces the CS336 reference (corpus.en, vocab 500, <|endoftext|>):
// the 243 merges in order and the whole vocabulary.
#include "text/bpe_trainer.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/mapped_file.h"
#include "pretokenize_for_test.h"
#include "test_util.h"

namespace {

std::string ref(const std::string& f) {
  return loom::test::data_path("tokenizers/bpe-train-reference/" + f);
}

TEST(BpeTrainer, ReproducesCs336Reference) {
  LOOM_REQUIRE_DATA(ref("corpus.en"));
  auto tokens =
      loom::test::pretokenize_with_special(loom::read_file(ref("corpus.en")), "<|endoftext|>");
  ASSERT_GT(tokens.size(), 10000u);
  loom::text::BpeTrainerOptions opt;
  opt.vocab_size = 500;
  opt.special_tokens = {"<|endoftext|>"};
  auto r = loom::text::train_byte_bpe(loom::text::count_words(tokens), opt);

  std::istringstream merges(loom::read_file(ref("train-bpe-reference-merges.txt")));
  std::string line;
  size_t i = 0;
  while (std::getline(merges, line)) {
    ASSERT_LT(i, r.merges.size());
    EXPECT_EQ(loom::text::gpt2_bytes_to_unicode(r.merges[i].first) + " " +
                  loom::text::gpt2_bytes_to_unicode(r.merges[i].second),
              line)
        << "merge " << i;
    ++i;
  }
  EXPECT_EQ(i, 243u);
  EXPECT_EQ(r.merges.size(), 243u);

  auto vocab = nlohmann::json::parse(loom::read_file(ref("train-bpe-reference-vocab.json")));
  ASSERT_EQ(r.vocab.size(), vocab.size());
  for (size_t id = 0; id < r.vocab.size(); ++id) {
    std::string s = id == 0 ? r.vocab[id] : loom::text::gpt2_bytes_to_unicode(r.vocab[id]);
    ASSERT_TRUE(vocab.contains(s)) << "id " << id << " " << s;
    EXPECT_EQ(vocab[s].get<size_t>(), id) << s;
  }
}

TEST(BpeTrainer, MinFrequencyAndTies) {
  // "ab" x3 and "cd" x3 tie; the greater pair (c, d) goes first. min_frequency 3 stops before
  // the pairs that occur twice.
  std::vector<std::pair<std::string, int64_t>> words = {{"ab", 3}, {"cd", 3}, {"xyz", 2}};
  loom::text::BpeTrainerOptions opt;
  opt.vocab_size = 1000;
  opt.min_frequency = 3;
  auto r = loom::text::train_byte_bpe(words, opt);
  ASSERT_EQ(r.merges.size(), 2u);
  EXPECT_EQ(r.merges[0], std::make_pair(std::string("c"), std::string("d")));
  EXPECT_EQ(r.merges[1], std::make_pair(std::string("a"), std::string("b")));
  EXPECT_EQ(r.vocab.size(), 258u);
  EXPECT_EQ(r.vocab.back(), "ab");
  // Overlapping pairs: "aaaa" merges (a,a) into "aa aa", then (aa, aa).
  opt.min_frequency = 0;
  r = loom::text::train_byte_bpe({{"aaaa", 1}}, opt);
  ASSERT_EQ(r.merges.size(), 2u);
  EXPECT_EQ(r.merges[1], std::make_pair(std::string("aa"), std::string("aa")));
}

}  // namespace
