// Vocabulary and corpus encoding for word2vec-style training.
//
// A corpus is plain UTF-8 text; each line is a sentence (windows never cross lines), words are
// separated by ASCII whitespace, and a line longer than 10000 words is cut into sentences of
// 10000 (gensim's LineSentence limit).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loom::wordvec {

inline constexpr int64_t kMaxSentenceWords = 10000;

struct VocabOptions {
  int64_t min_count = 5;  // words seen fewer times are dropped
  int64_t max_vocab = 0;  // keep at most this many of the most frequent words; 0 = no limit
};

struct Vocab {
  std::vector<std::string> words;  // most frequent first; equal counts in order of first use
  std::vector<int64_t> counts;
  std::unordered_map<std::string, int32_t> index;
  int64_t corpus_words = 0;  // every token of the corpus
  int64_t kept_words = 0;    // tokens whose word is in the vocabulary

  int64_t size() const { return static_cast<int64_t>(words.size()); }
  int32_t find(std::string_view w) const {
    auto it = index.find(std::string(w));
    return it == index.end() ? -1 : it->second;
  }
};

// Counts the words of `text` (named `name` in errors). Throws loom::Error when the corpus has no
// words, or when no word reaches min_count.
Vocab build_vocab(std::string_view text, const VocabOptions& opt, const std::string& name);

// The corpus as vocabulary ids, out-of-vocabulary words dropped; sentence s is
// ids[starts[s], starts[s+1]).
struct EncodedCorpus {
  std::vector<int32_t> ids;
  std::vector<int64_t> starts;
  int64_t raw_words = 0;  // tokens before dropping, counted like Vocab::corpus_words

  int64_t sentences() const { return static_cast<int64_t>(starts.size()) - 1; }
};
EncodedCorpus encode_corpus(std::string_view text, const Vocab& vocab);

// The trainers call it now and then with (units done, units in total), from one thread at a time.
using ProgressFn = std::function<void(int64_t, int64_t)>;

}  // namespace loom::wordvec
