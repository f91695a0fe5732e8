// GGUF files out, for every architecture of the registry, derived from its spec the way the
// loader reads them: tensor names TensorSpec::gguf per layer, q/k rows permuted back to GGUF's
// interleaved RoPE order (rope_heads), Conv1D weights (hf_in_out) transposed back to (out, in),
// hyperparameters as <arch>.<gguf_key> with the types llama.cpp writes (u32 counts, f32 eps and
// theta), rope scaling as llama.cpp writes it (linear: <arch>.rope.scaling.type/factor keys;
// Llama 3: the per-pair divisors in a rope_freqs.weight tensor) and general.* keys.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "io/tensor_map.h"
#include "models/hf.h"

namespace loom::models {

class CausalLm;  // models/causal_lm.h: only references here, so users of the inference side need no nn

struct GgufSaveOptions {
  std::string name;  // general.name; empty: the source file's name without its folder
  // Type of the 2-D weights: none keeps each tensor's own (f32, f16, bf16); F32, F16 or Q8_0
  // converts them (Q8_0 falls back to F16 where a row is not a multiple of 32, as llama.cpp's
  // converter does). Vectors (norms, biases, rope_freqs) stay f32.
  std::optional<DType> type;
  // Metadata written as is, over the model's own (a tokenizer's tokenizer.ggml.* keys).
  std::map<std::string, io::MetaValue> meta;
};

// The GGUF tensors and metadata of a model in Hugging Face form (m.gguf_tokenizer included);
// a configuration GGUF cannot express (a head size other than dim / heads) is a loom::Error.
io::TensorMap to_gguf(const HfModel& m, const GgufSaveOptions& options = {});
// to_gguf written to path as GGUF v3, atomically (temporary name, fsync, rename).
void save_gguf(const std::string& path, const HfModel& m, const GgufSaveOptions& options = {});
// A trainable model's weights (LoRA merged) as a GGUF file.
void save_gguf(const std::string& path, CausalLm& model, const GgufSaveOptions& options = {});

// Parses "f32", "f16", "q8_0" (a GGUF type name); anything else is a loom::Error listing them.
DType gguf_save_type(const std::string& name);

}  // namespace loom::models
