// Model conversion, what `loom convert` runs: any checkpoint the loader reads (GGUF, llama2.c
// .bin, safetensors + config.json, a Hugging Face folder) to a GGUF file or a new Hugging Face
// folder, with its tokenizer: a GGUF source's own vocabulary, a --tokenizer file (llama2.c's
// tok*.bin, a SentencePiece .model, a tokenizer.json) or the tokenizer files beside the model.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/tensor_map.h"
#include "text/sentencepiece_model.h"

namespace loom::generate {

struct ConvertOptions {
  std::string model;      // the input checkpoint
  std::string out;        // a .gguf file or a new (or empty) folder
  std::string to;         // "gguf", "hf", or "" to pick by out (".gguf" -> gguf, else hf)
  std::string tokenizer;  // tokenizer file for a source without one; "" to find it
  std::string type;       // GGUF weight type: "" keeps each tensor's, "f32", "f16", "q8_0"
};

struct ConvertResult {
  std::string format;              // "gguf" or "hf"
  std::string config;              // DecoderConfig::describe() of the model written
  size_t tensors = 0;              // tensors written
  std::string tokenizer;           // where the tokenizer written came from; "" none
  std::vector<std::string> files;  // HF: the files of the new folder
  std::string note;                // a tokenizer that could not be written, and why
};

// Converts; a loom::Error (naming the file) leaves nothing at options.out: the GGUF is written
// to a temporary name and renamed, the folder assembled beside it and renamed (an existing
// non-empty folder is refused before anything is written).
ConvertResult convert_model(const ConvertOptions& options);

// A SentencePiece tokenizer as GGUF tokenizer.ggml.* metadata ("llama": tokens, scores,
// token_type, special ids, add_space_prefix), as llama.cpp's converter writes it; the inverse of
// sentencepiece_proto_from_gguf.
std::map<std::string, io::MetaValue> sentencepiece_gguf_meta(
    const text::SentencePieceModelProto& proto);

}  // namespace loom::generate
