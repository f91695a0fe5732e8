// Turning a model's per-token hidden states into one vector per text: pooling (core/pooling.h, the
// definitions contrastive training uses), L2 normalisation and Matryoshka truncation. The choice a
// model wants is stored with the model (EmbedConfig <-> the keys of sentence-transformers'
// 1_Pooling/config.json), not only in flags.
#pragma once

#include <cstdint>
#include <string>

#include "core/pooling.h"

namespace loom::embed {

using loom::Pooling;
using loom::pooling_from_name;
using loom::pooling_name;

struct EmbedConfig {
  Pooling pooling = Pooling::Mean;
  bool normalize = true;  // L2-normalise the pooled vector
  int64_t dims = 0;       // Matryoshka truncation to the first `dims` values (0 = all)
  // Tokens per text the model was trained to embed (0 = its context length). Kept apart from
  // the pooling JSON, in sentence-transformers' sentence_bert_config.json ("max_seq_length").
  int64_t max_tokens = 0;
  // Serialised as sentence-transformers' pooling config plus Loom's keys:
  // {"pooling_mode_mean_tokens": true, ..., "normalize": true, "truncate_dim": 0}
  std::string to_json() const;
  // Throws loom::Error naming `source` on malformed input or unknown pooling.
  static EmbedConfig from_json(const std::string& json, const std::string& source);
};

// x (d): x / ||x||; a zero vector stays zero.
void l2_normalize(float* x, int64_t d);

// Applies the config to a pooled vector (d): truncation first, then normalisation, as
// Matryoshka embeddings are meant to be used. Returns the output size.
int64_t finish(const EmbedConfig& cfg, float* x, int64_t d);

}  // namespace loom::embed
