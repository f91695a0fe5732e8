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
  // Pruning's likelihood loss as sentencepiece up to 0.1.97 (Debian 12's spm_train) and Hugging
  // Face tokenizers' trainer compute it: the total after removing a piece grows by its frequency
  // times the number of ALL pieces minus one, not its alternatives' (sentencepiece issue #628,
  // fixed upstream later). Off: the corrected rule of current sentencepiece.
  bool legacy_prune_total = false;
  // The E step's fixed work split, sentencepiece's num_threads (default 16): float sums are added
  // split by split, so the result equals spm_train --num_threads=num_splits exactly and does not
  // depend on how many threads the pool has.
  int32_t num_splits = 16;
  // Sentences longer than this many bytes are left out, as spm_train's --max_sentence_length
  // (default 4192) does; 0: no limit. Sentences holding U+2585 (its trainer's unknown-character
  // marker) are always left out, as spm_train does.
  int32_t max_sentence_length = 4192;
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
