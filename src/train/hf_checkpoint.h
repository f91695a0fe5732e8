// Hugging Face model directories in and out of training: a LlamaForCausalLM or GPT2LMHeadModel
// safetensors checkpoint + config.json becomes an nn::CausalLm (config and weights), and a trained
// CausalLm becomes such a directory again (LoRA adapters merged into their weights), so
// `loom generate`, `loom eval ppl` and Hugging Face load the result.
#pragma once

#include <cstdint>
#include <string>

#include "io/tensor_map.h"
#include "nn/causal_lm.h"

namespace loom::train {

struct HfTrainModel {
  std::string source;            // the directory or file it came from
  nn::CausalLmConfig config;     // the architecture (no LoRA)
  io::TensorMap weights;         // HF-named tensors, any dtype the reader supports
  std::string config_json;       // config.json as read ("{}" when there was none)
  int64_t base_vocab_size = -1;  // config.json "loom_extension": {"base_vocab_size": N}, or -1
};

// Reads DIR/model.safetensors + DIR/config.json (or a .safetensors file with config.json beside
// it), or any other checkpoint the inference loader reads (GGUF, llama2.c .bin) through
// models::to_hf. The architecture comes from config.json ("architectures" / "model_type"), the
// sizes from its fields, checked against the tensors; errors name the file and the field.
HfTrainModel read_hf_model(const std::string& path);
// Parses a config.json text into a CausalLmConfig (vocab_size from the text; the caller checks it
// against the tensors). `name` is used in errors.
nn::CausalLmConfig causal_lm_config_from_json(const std::string& json_text, const std::string& name,
                                              int64_t* base_vocab_size = nullptr);

// Copies every base (non-LoRA) parameter of model from weights, converting to f32; a missing
// tensor or a shape mismatch is a loom::Error naming the source and the tensor. GPT-2 tensors
// may carry the "transformer." prefix or not (both occur on the Hub).
void load_hf_weights(nn::CausalLm& model, const io::TensorMap& weights);

// config.json for model: `base` (a config.json text, "{}" for none) with the architecture fields
// that Hugging Face's LlamaConfig / GPT2Config read set from the model; other fields (e.g.
// "loom_extension") are kept.
std::string hf_config_json(const nn::CausalLmConfig& config, const std::string& base);

// Writes DIR/model.safetensors (f32, HF names, LoRA merged and adapters left out) and
// DIR/config.json, each atomically. DIR is created when missing.
void save_hf_model(nn::CausalLm& model, const std::string& dir, const std::string& base_config);

}  // namespace loom::train
