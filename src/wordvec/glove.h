// GloVe training (Pennington et al. 2014) as Stanford's glove.c does it: minimise
//   J = sum over nonzero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
//   f(x) = min(1, (x / x_max)^alpha),
// by AdaGrad over the co-occurrence entries, one entry at a time. glove.c's update, kept exactly:
// with diff = w_i . w~_j + b_i + b~_j - log X and g = eta f(X) diff, each component k steps
//   t = g w~_jk, t~ = g w_ik (both from the old values), w_ik -= t / sqrt(G_ik), w~_jk -= t~ /
//   sqrt(G~_jk), then G_ik += t^2, G~_jk += t~^2; biases b_i -= g / sqrt(Gb_i), Gb_i += g^2;
// G starts at 1 (so the first step is eta times the gradient); eta is inside the squared
// gradient, as in glove.c. The reported cost of an epoch is glove.c's: the mean over the entries
// of 0.5 f(X) diff^2, each taken just before its update.
//
// Parameters are f32 (glove.c: f64) and initialised as glove.c does, (u - 0.5) / dim with u
// uniform in [0, 1), drawn from loom::Rng(seed): rows 0..V-1 are W, V..2V-1 are W~; each row's
// dim values, then its bias. The output vectors are W + W~ (glove.c -model 2, its default) or W
// alone (-model 1); glove.c's extra "<unk>" row (the mean of the 100 rarest words) is not added.
//
// Order: the entries are shuffled before every epoch with Fisher-Yates driven by
// Rng(shuffle_seed(seed, epoch)) (glove.c relies on one `shuffle` pass before training); with
// shuffle = false they are trained in the order given. Hogwild: the entries are cut into one
// contiguous slice per thread, updated without locks, so results vary run to run when threads > 1.
// deterministic = true: slices of kGloveJobPairs entries run in blocks of kGloveBlock; every job
// of a block reads the parameters as they were when the block began and writes into its own
// copy-on-write overlay, whose changes are then added in job order: bit-identical parameters and
// costs for a seed at any thread count (a block runs on up to kGloveBlock threads). Its cost:
// nearly every row an entry touches is copied, turned into a delta and added back (one thread),
// so on the bench corpus (20M entries, d=100, 2 threads, a loaded machine) an epoch took 4.6x
// to 8x Hogwild's time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "wordvec/cooccur.h"
#include "wordvec/vectors.h"
#include "wordvec/vocab.h"

namespace loom {
class ThreadPool;
}

namespace loom::wordvec {

inline constexpr int kGloveBlock = 4;
inline constexpr int64_t kGloveJobPairs = 4096;

struct GloveOptions {
  int64_t dim = 100;
  double x_max = 100.0;  // glove.c's default (its demo.sh uses 10)
  double alpha = 0.75;
  double eta = 0.05;    // initial learning rate
  int64_t epochs = 15;  // demo.sh's 15 (glove.c's default is 25)
  uint64_t seed = 1;
  bool shuffle = true;
  bool deterministic = false;
  bool word_only = false;  // output W alone instead of W + W~
};

// Throws loom::Error naming the first option out of range.
void check_options(const GloveOptions& opt);

// The generator seed of epoch e's shuffle.
uint64_t shuffle_seed(uint64_t seed, int64_t epoch);

struct GloveStats {
  std::vector<double> epoch_cost;  // glove.c's printed cost, one per epoch
  int64_t pairs = 0;               // entries trained per epoch
  double seconds = 0;
};

// Called after each epoch with (epoch from 0, its cost).
using EpochFn = std::function<void(int64_t, double)>;

class Glove {
 public:
  Glove(Vocab vocab, const GloveOptions& opt);
  ~Glove();
  Glove(Glove&&) noexcept;

  // Trains opt.epochs epochs over `pairs` (ids below the vocabulary size, counts > 0; throws
  // loom::Error naming the first bad entry). Progress counts entries over all epochs.
  GloveStats train(const std::vector<Cooccurrence>& pairs, ThreadPool& pool,
                   const ProgressFn& progress = {}, const EpochFn& on_epoch = {});

  const Vocab& vocab() const;
  // W + W~ (or W with word_only), in vocabulary order.
  Vectors vectors() const;
  // Word w's dim parameters and its bias in W (context = false) or W~ (context = true).
  const float* row(int32_t w, bool context) const;
  float bias(int32_t w, bool context) const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace loom::wordvec
