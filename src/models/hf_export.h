// Hugging Face export: any checkpoint `load_model` reads (GGUF, llama2.c .bin, safetensors +
// config.json) as a LlamaForCausalLM or GPT2LMHeadModel named-tensor map plus its config.json,
// and a writer for the whole model directory (model.safetensors, config.json, tokenizer files)
// that never leaves a half-written directory behind.
//
// Llama q/k projections: GGUF and llama2.c store each head's rows in the interleaved-pair RoPE
// order (rows 2i, 2i+1 rotate together); Hugging Face stores them half-split (rows i, i + hd/2).
// The export permutes them, so the exported model computes the same function under HF's
// rotate_half convention.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/tensor_map.h"
#include "models/transformer.h"

namespace loom::models {

struct HfModel {
  io::TensorMap tensors;           // HF names, f32, in the order HF's state_dict uses
  nlohmann::ordered_json config;   // config.json content (more keys may be added before saving)
  bool tied_head = false;          // no lm_head.weight: the head is the token embedding
  std::string embed_name() const;  // "model.embed_tokens.weight" or "transformer.wte.weight"
  std::string head_name() const { return "lm_head.weight"; }
};

struct HfExportOptions {
  int32_t bos_token_id = -1;  // -1: from the checkpoint's metadata, else 1 (Llama) / 50256 (GPT-2)
  int32_t eos_token_id = -1;  // -1: likewise, else 2 / 50256
};

// Converts the loaded model's weights (model.weights(), the checkpoint as read) to HF naming and
// layout; quantised or half tensors become f32. Partial RoPE (rope dimension < head size) cannot
// be expressed as LlamaForCausalLM and is a loom::Error.
HfModel to_hf(const Model& model, const HfExportOptions& opts = {});

// The config.json of an HF model with these hyperparameters (used by to_hf; exposed for callers
// that build tensors themselves, e.g. after growing the vocabulary).
nlohmann::ordered_json hf_config(const TransformerConfig& c, int32_t bos, int32_t eos);

// Writes dir/model.safetensors, dir/config.json (config.dump(2)) and each extra file
// (name -> content, e.g. "tokenizer.json", "tokenizer_config.json"). Everything is written into
// a temporary sibling folder, fsync'd, then renamed to `dir`; on any error the temporary folder
// is removed and nothing exists at `dir`. An existing `dir` must be an empty folder (it is
// replaced); anything else is a loom::Error before anything is written.
void save_hf_directory(const std::string& dir, const io::TensorMap& tensors,
                       const nlohmann::ordered_json& config,
                       const std::map<std::string, std::string>& extra_files = {});

// The half-split <-> interleaved row permutation of one q or k projection (rows = heads * hd).
// to_half_split true: interleaved (GGUF) -> half-split (HF); false: the inverse.
Tensor permute_rope_rows(const TensorView& w, int64_t heads, bool to_half_split);

}  // namespace loom::models
