// Mining domain terms: frequent words and short phrases of a domain corpus that the tokenizer
// breaks into many pieces. Score = frequency x (pieces - 1), i.e. the number of tokens the corpus
// would save if the term were one token.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace loom::adapt {

struct MineOptions {
  int top = 100;            // how many terms to return
  int max_words = 2;        // longest phrase, in words (1 = single words only)
  int64_t min_freq = 5;     // ignore rarer candidates
  size_t min_bytes = 3;     // ignore shorter candidates
  size_t max_bytes = 40;    // ignore longer candidates
};

struct Term {
  std::string text;                 // the term as it appears in running text, without spaces around
  int64_t freq = 0;                 // occurrences in the corpus
  std::vector<std::string> pieces;  // its current tokenisation (as it appears after a space)
  double score = 0;                 // freq * (pieces - 1)
};

// Phrases join words of at least min_bytes bytes each that contain a letter.
// Splits a line into words: runs of non-space bytes with leading/trailing ASCII punctuation
// removed (inner punctuation such as "TCP/IP" or "C++" is kept).
std::vector<std::string_view> split_words(std::string_view line);

// pieces_of(term) returns the tokenizer's pieces for the term as it appears in running text.
// Terms that are already one piece are skipped. Ranked by score, ties by frequency then text.
std::vector<Term> mine_terms(const std::vector<std::string>& lines,
                             const std::function<std::vector<std::string>(const std::string&)>& pieces_of,
                             const MineOptions& opts);

}  // namespace loom::adapt
