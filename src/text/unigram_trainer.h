// Unigram trainer in the SentencePiece manner (unigram_model_trainer.cc): seed pieces from
// frequent substrings, EM with a Dirichlet-process-style sparse prior (digamma M step), pruning
// by the likelihood lost when a piece is replaced by its second-best segmentation, until
// vocab_size pieces remain; all characters (up to character_coverage) are always kept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "text/sentencepiece_model.h"

namespace loom {
class ThreadPool;
}

namespace loom::text {

struct UnigramTrainerOptions {
  int32_t vocab_size = 8000;  // including <unk>, <s>, </s>
  float character_coverage = 0.9995f;
  int32_t max_piece_length = 16;  // in characters
  int32_t seed_size = 1000000;
  float shrinking_factor = 0.75f;
  int32_t num_sub_iterations = 2;
  bool split_by_unicode_script = true;
  bool split_digits = false;
  // Normalisation applied to each sentence before training (and stored in the model). The
  // default is the identity with sentencepiece's whitespace rules.
  SpNormalizerSpec normalizer = [] {
    SpNormalizerSpec n;
    n.name = "identity";
    return n;
  }();
  // Called after each EM sub-iteration with the current number of pieces (for progress bars).
  std::function<void(size_t n_pieces)> on_iteration;
};

// sentence_counts: raw sentences (one document or line each) -> occurrences. Returns a complete
// ModelProto (UNIGRAM; ids 0/1/2 = <unk>/<s>/</s>) that serialize_sentencepiece_model writes as a
// .model libsentencepiece loads. The E step and pruning split over `pool` (nullptr = this thread);
// results do not depend on the thread count.
SentencePieceModelProto train_unigram(
    const std::vector<std::pair<std::string, int64_t>>& sentence_counts,
    const UnigramTrainerOptions& options, ThreadPool* pool = nullptr);

}  // namespace loom::text
