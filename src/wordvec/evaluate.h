// Word-vector evaluation with gensim's conventions (KeyedVectors.evaluate_word_analogies and
// evaluate_word_pairs, gensim 4.2), so the numbers compare with published ones:
//  - only the first restrict_vocab rows count (the most frequent words of a trained model);
//  - case_insensitive: words are upper-cased (Python's str.upper()) on both sides, and where two
//    rows upper-case to the same word the earlier (more frequent) row wins;
//  - analogies: "a b c d" per line under ": section" headers; 3CosAdd over unit vectors, the
//    answer is the first of the 5 nearest words (excluding a, b, c) that is not a, b or c;
//    questions with an out-of-vocabulary word are skipped and counted (dummy4unknown counts them
//    as wrong instead); lines without exactly four words are skipped;
//  - pairs: "w1<delim>w2<delim>score" per line, '#' lines are comments, lines that do not split
//    into exactly three fields with a numeric score are skipped; Spearman (average ranks for ties)
//    and Pearson between the scores and the cosine similarities; OOV pairs are skipped and
//    counted (dummy4unknown scores them 0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "wordvec/vectors.h"

namespace loom {
class ThreadPool;
}

namespace loom::wordvec {

struct EvalOptions {
  int64_t restrict_vocab = 300000;
  bool case_insensitive = true;
  bool dummy4unknown = false;
};

struct AnalogySection {
  std::string name;
  int64_t correct = 0, incorrect = 0;
  // NaN when the section has no evaluated question.
  double accuracy() const;
};

struct AnalogyResult {
  std::vector<AnalogySection> sections;  // in file order
  AnalogySection total;                  // "Total accuracy"
  int64_t questions = 0;                 // well-formed question lines
  int64_t oov = 0;                       // questions with an out-of-vocabulary word
  double oov_ratio() const { return questions ? 100.0 * double(oov) / double(questions) : 0.0; }
};

// Throws loom::Error (naming `name` and the line) when a question comes before any section header.
AnalogyResult evaluate_word_analogies(const Vectors& v, std::string_view text,
                                      const std::string& name, const EvalOptions& opt,
                                      ThreadPool& pool);
AnalogyResult evaluate_word_analogies_file(const Vectors& v, const std::string& path,
                                           const EvalOptions& opt, ThreadPool& pool);

// Which fields hold the two words and the score. By default (chosen = false) gensim's rule holds:
// a line must split into exactly three fields. With chosen = true (files with more columns, such as
// rw.txt, or SimLex-999's full file with its score in field 3) the three fields are taken from
// every line that has at least that many.
struct PairColumns {
  int word1 = 0, word2 = 1, score = 2;
  bool chosen = false;
};

struct PairsResult {
  double pearson = 0, spearman = 0;  // NaN when either series is constant
  int64_t pairs = 0;                 // pairs that entered the correlations
  int64_t oov = 0;
  int64_t skipped_lines = 0;         // lines that are not "w1 w2 score"
  double oov_ratio = 0;              // percent, as gensim computes it
};

// Throws loom::Error (naming `name`) when fewer than two pairs could be scored, where gensim
// (or scipy under it) raises ValueError.
PairsResult evaluate_word_pairs(const Vectors& v, std::string_view text, char delimiter,
                                const EvalOptions& opt, PairColumns columns = {},
                                const std::string& name = "pairs");
PairsResult evaluate_word_pairs_file(const Vectors& v, const std::string& path, char delimiter,
                                     const EvalOptions& opt, PairColumns columns = {});

// Pearson and Spearman (scipy's conventions: ranks averaged over ties) of two equal-length series.
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace loom::wordvec
