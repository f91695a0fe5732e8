// word2vec training: skip-gram and CBOW, negative sampling (unigram^0.75) and/or hierarchical
// softmax (Huffman tree), frequent-word subsampling, linear learning-rate decay, Hogwild threads.
//
// Conventions follow word2vec.c and gensim: a sentence is subsampled first, then every position
// takes a reduced window drawn uniformly from 1..window; skip-gram trains the context word's
// input row to predict the centre word; CBOW averages the context rows (cbow_mean) and adds the
// unscaled error back to each of them; the learning rate falls linearly from alpha to min_alpha
// over all epochs.
//
// Randomness: the corpus is cut into jobs of about job_words words; job j of epoch e draws from
// its own generator seeded by (seed, e, j), so a job's random choices never depend on which
// thread runs it. In the default Hogwild mode threads update the shared rows without locks, so
// results vary slightly from run to run when threads > 1. With deterministic = true, jobs run in
// blocks of kDeterministicBlock: each job of a block reads the rows as they were when the block
// began and writes into its own copy-on-write overlay; the overlays' changes are then added to the
// shared rows in job order. The vectors are then bit-identical for a given seed at any thread
// count (the cost is measured in bench/RESULTS.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "wordvec/vectors.h"
#include "wordvec/vocab.h"

namespace loom {
class ThreadPool;
}

namespace loom::wordvec {

// Deterministic blocks: the jobs of a block all start from the same rows, so a frequent word's row
// gets the sum of every job's steps at once. Blocks of 4 jobs of at most 1000 words train as well
// as Hogwild on the bench corpus; 16 jobs of 10000 or of 1000 words made the rows of the most
// frequent words diverge to NaN, and taking the mean of the jobs' changes instead of their sum
// learned far too slowly (0.2% analogy accuracy). A block runs on up to 4 threads.
inline constexpr int kDeterministicBlock = 4;
inline constexpr int64_t kDeterministicJobWords = 1000;

struct Word2VecOptions {
  bool skip_gram = true;  // false: CBOW
  int64_t dim = 100;
  int64_t window = 5;
  int64_t negative = 5;  // 0 turns negative sampling off
  bool hierarchical_softmax = false;
  double ns_exponent = 0.75;
  double alpha = 0.025;
  double min_alpha = 0.0001;
  double sample = 1e-3;  // subsampling threshold; 0 keeps every word
  int64_t epochs = 5;
  bool cbow_mean = true;
  uint64_t seed = 1;
  bool deterministic = false;
  int64_t job_words = 10000;
};

// Throws loom::Error naming the first option out of range.
void check_options(const Word2VecOptions& opt);

struct TrainStats {
  int64_t raw_words = 0;      // corpus tokens, times epochs
  int64_t trained_words = 0;  // in-vocabulary tokens (before subsampling), all epochs
  double seconds = 0;         // encoding the corpus and training
  double words_per_second() const { return seconds > 0 ? double(raw_words) / seconds : 0; }
};

class Word2Vec {
 public:
  Word2Vec(Vocab vocab, const Word2VecOptions& opt);
  ~Word2Vec();
  Word2Vec(Word2Vec&&) noexcept;

  // Encodes `text` with the vocabulary and trains opt.epochs epochs on it.
  TrainStats train(std::string_view text, ThreadPool& pool, const ProgressFn& progress = {});
  TrainStats train(const EncodedCorpus& corpus, ThreadPool& pool, const ProgressFn& progress = {});

  const Vocab& vocab() const;
  // The input rows (the word vectors), in vocabulary order.
  Vectors vectors() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace loom::wordvec
