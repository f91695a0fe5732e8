// Nearest neighbours by cosine over word vectors, as a plain scan (an exact oracle; the index
// module is not a dependency of wordvec). Arithmetic follows gensim's most_similar in f32: the
// query is the mean of the weighted unit vectors, normalised; a row's score is
// dot(row, query) / |row|.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "wordvec/vectors.h"

namespace loom {
class ThreadPool;
}

namespace loom::wordvec {

struct Neighbour {
  int64_t row;
  float score;
};

class NeighbourSearch {
 public:
  // Searches the first `limit` rows (all when limit <= 0 or larger than the table).
  NeighbourSearch(const Vectors& v, int64_t limit);

  int64_t limit() const { return limit_; }
  float norm(int64_t row) const { return norms_[static_cast<size_t>(row)]; }

  // Unit query from (row, weight) terms: mean of weight * row / |row|, then normalised. A zero
  // result stays zero.
  std::vector<float> query(const std::vector<std::pair<int64_t, float>>& terms) const;

  // For each of the n queries (n x dim, row-major): the topn best rows, best first, leaving out
  // that query's `exclude` rows.
  std::vector<std::vector<Neighbour>> search(const float* queries, int64_t n, int64_t topn,
                                             const std::vector<std::vector<int64_t>>& exclude,
                                             ThreadPool& pool) const;

  // Cosine similarity of two rows (gensim's similarity(): dot of the two unit vectors).
  double similarity(int64_t a, int64_t b) const;

 private:
  const Vectors& v_;
  int64_t limit_;
  std::vector<float> norms_;
};

// The query most_similar searches with: the unit mean of +unit(positive) and -unit(negative)
// (NeighbourSearch::query), and the rows of the query words, which the results leave out. A word
// that is not among search's rows is a loom::Error naming it.
struct SimilarQuery {
  std::vector<float> unit;
  std::vector<int64_t> exclude;
};
SimilarQuery similar_query(const Vectors& v, const NeighbourSearch& search,
                           const std::vector<std::string>& positive,
                           const std::vector<std::string>& negative);

// gensim's most_similar(positive, negative, topn, restrict_vocab) by word: the topn rows nearest
// to the normalised mean of +unit(positive) and -unit(negative), the query words left out.
// Throws loom::Error naming a word that is not among the searched rows.
std::vector<std::pair<std::string, float>> most_similar(const Vectors& v,
                                                        const std::vector<std::string>& positive,
                                                        const std::vector<std::string>& negative,
                                                        int64_t topn, int64_t restrict_vocab,
                                                        ThreadPool& pool);

}  // namespace loom::wordvec
