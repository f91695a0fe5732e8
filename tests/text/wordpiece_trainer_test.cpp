// WordPiece trainer: merge order on a small hand-checked example, and on a real corpus the
// invariants of a usable vocab.txt (exact size, specials first, every training word covered).
#include <cstdio>
#include <map>
#include <sstream>
#include <unordered_set>

#include "core/mapped_file.h"
#include "test_util.h"
#include "text/bpe_trainer.h"

namespace {

using loom::text::train_wordpiece;
using loom::text::WordPieceTrainerOptions;

// Greedy longest-match WordPiece over `vocab` (BERT's algorithm); empty when a word needs [UNK].
std::vector<std::string> wordpiece_split(const std::string& w,
                                         const std::unordered_set<std::string>& vocab) {
  std::vector<std::string> out;
  for (size_t start = 0; start < w.size();) {
    size_t end = w.size();
    std::string found;
    while (end > start) {
      std::string sub = (start > 0 ? "##" : "") + w.substr(start, end - start);
      if (vocab.count(sub)) {
        found = sub;
        break;
      }
      --end;
    }
    if (found.empty()) return {};
    out.push_back(found);
    start = end;
  }
  return out;
}

TEST(WordPieceTrainer, MergesMostFrequentPairsWithContinuationPrefix) {
  // Pair counts: (##u,##g) 20, then (##u,##n) 16, (h,##ug) 15, (p,##un) 12.
  std::vector<std::pair<std::string, int64_t>> words = {
      {"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}};
  WordPieceTrainerOptions opt;
  opt.special_tokens = {"[UNK]"};
  opt.vocab_size = 1 + 7 + 5 + 4;  // specials, alphabet b g h n p s u, ##u ##g ##n ##s, 4 merges
  auto r = train_wordpiece(words, opt);
  std::vector<std::string> want = {"[UNK]", "b",   "g",   "h",   "n",    "p",    "s",   "u",
                                   "##u",   "##g", "##n", "##s", "##ug", "##un", "hug", "pun"};
  // The 4th-from-last alphabet entries depend on visiting order: ##u ##g first (from "hug").
  ASSERT_EQ(r.vocab.size(), 17u);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.vocab[i], want[i]) << i;
}

TEST(WordPieceTrainer, VocabCoversTheTrainingWords) {
  const std::string path = loom::test::data_path("corpora/ptb/ptb.valid.txt");
  LOOM_REQUIRE_DATA(path);
  std::istringstream in(loom::read_file(path));
  std::map<std::string, int64_t> counts;
  std::string w;
  while (in >> w) ++counts[w];
  std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
  WordPieceTrainerOptions opt;
  opt.vocab_size = 2000;
  opt.special_tokens = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  auto r = train_wordpiece(words, opt);
  ASSERT_EQ(r.vocab.size(), 2000u);
  EXPECT_EQ(r.vocab[1], "[UNK]");
  std::unordered_set<std::string> vocab(r.vocab.begin(), r.vocab.end());
  EXPECT_EQ(vocab.size(), r.vocab.size()) << "duplicate tokens";
  EXPECT_TRUE(vocab.count("the"));
  int64_t pieces = 0, total = 0;
  for (const auto& [word, c] : words) {
    auto split = wordpiece_split(word, vocab);
    ASSERT_FALSE(split.empty()) << word;
    pieces += static_cast<int64_t>(split.size()) * c;
    total += c;
  }
  // Frequent words become single tokens: the running text averages well under 2 pieces a word.
  const double per_word = static_cast<double>(pieces) / total;
  std::printf("wordpiece 2000 on ptb.valid: %.3f pieces per word\n", per_word);
  EXPECT_LT(per_word, 1.5);
  EXPECT_EQ(r.to_vocab_txt().substr(0, 6), "[PAD]\n");
}

}  // namespace
