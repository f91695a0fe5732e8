// Hugging Face model directories, in and out, for every architecture of the registry: any
// checkpoint the loader reads (GGUF, llama2.c .bin, safetensors + config.json) in Hugging Face
// names and layouts; a trainable model's weights loaded from and saved as such a directory; and
// an atomic writer for a whole new directory.
//
// GGUF and llama2.c store each q/k head's rows in the interleaved-pair RoPE order (rows 2i, 2i+1
// rotate together); Hugging Face stores them half-split (rows i, i + hd/2). The conversion
// permutes them (the spec's rope_heads), so the model computes the same function under HF's
// rotate_half convention. GPT-2's Conv1D weights are transposed to (in, out).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/tensor_map.h"
#include "models/decoder.h"

namespace loom::models {

class CausalLm;  // models/causal_lm.h: only references here, so users of the inference side need no nn

struct HfModel {
  std::string source;
  DecoderConfig config;   // rope.style is HalfSplit: the tensors are in HF's order
  io::TensorMap tensors;  // HF names and layouts; converted tensors are f32, others as stored
  nlohmann::ordered_json config_json;  // config.json: the file's own keys plus the config's
  // A GGUF source's tokenizer.ggml.* keys, carried unchanged into a GGUF export; empty otherwise.
  std::map<std::string, io::MetaValue> gguf_tokenizer;
  std::string embed_name() const;  // "model.embed_tokens.weight", "transformer.wte.weight"
  std::string head_name() const { return "lm_head.weight"; }
};

// Reads any checkpoint the inference loader reads and returns it in Hugging Face form. A
// safetensors file needs a config.json beside it; errors name the file and the field. A GGUF
// rope_freqs tensor becomes config.json's llama3 rope_scaling when one reproduces it; other
// factors have no config.json form and are refused.
HfModel read_hf_model(const std::string& path);
// The same for a map already read.
HfModel to_hf(io::TensorMap map);

// One tensor of role s between GGUF's layout and Hugging Face's, as f32: q/k rows permuted to
// half-split (to_hf) or back to interleaved, Conv1D weights (hf_in_out) transposed; others copied.
Tensor convert_layout(const Tensor& t, const TensorSpec& s, const DecoderConfig& c, bool to_hf);

// Copies every base (non-LoRA) parameter of model from HF-named tensors, converting to f32; a
// missing tensor or a shape mismatch is a loom::Error naming the source and the tensor.
void load_hf_weights(CausalLm& model, const io::TensorMap& weights);
// The model's tensors under HF names, f32, LoRA merged and adapters left out.
io::TensorMap hf_tensors(CausalLm& model, const std::string& source);
// Writes DIR/model.safetensors and DIR/config.json (config_json(model.config(), base)), each
// atomically. DIR is created when missing.
void save_hf_model(CausalLm& model, const std::string& dir, const nlohmann::ordered_json& base);

// Writes dir/model.safetensors, dir/config.json (config.dump(2)) and each extra file
// (name -> content, e.g. "tokenizer.json", "tokenizer_config.json"). Everything is written into
// a temporary sibling folder, fsync'd, then renamed to `dir`; on any error the temporary folder
// is removed and nothing exists at `dir`. An existing `dir` must be an empty folder (it is
// replaced); anything else is a loom::Error before anything is written.
void save_hf_directory(const std::string& dir, const io::TensorMap& tensors,
                       const nlohmann::ordered_json& config,
                       const std::map<std::string, std::string>& extra_files = {});

}  // namespace loom::models
