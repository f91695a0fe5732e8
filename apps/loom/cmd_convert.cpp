// `loom convert`: a model from any format the loader reads to GGUF or a Hugging Face folder.
#include <cstdio>
#include <string>

#include "cli.h"
#include "generate/convert.h"

namespace {

using loom::cli::Args;

int run_convert(const Args& args) {
  loom::generate::ConvertOptions o;
  o.model = args.need("model");
  o.out = args.need("out");
  o.to = args.str("to");
  o.tokenizer = args.str("tokenizer");
  o.type = args.str("type");
  const loom::generate::ConvertResult r = loom::generate::convert_model(o);
  if (!r.note.empty()) std::fprintf(stderr, "note: %s\n", r.note.c_str());
  if (args.json()) {
    std::printf("{\"out\": %s, \"format\": %s, \"tensors\": %zu, \"tokenizer\": %s}\n",
                loom::cli::json_quote(o.out).c_str(), loom::cli::json_quote(r.format).c_str(),
                r.tensors, loom::cli::json_quote(r.tokenizer).c_str());
    return 0;
  }
  std::printf("wrote %s (%s, %zu tensors): %s\n", o.out.c_str(), r.format.c_str(), r.tensors,
              r.config.c_str());
  std::printf("tokenizer: %s\n", r.tokenizer.empty() ? "none (pass --tokenizer FILE to include one)"
                                                     : r.tokenizer.c_str());
  for (const std::string& f : r.files) std::printf("  %s\n", f.c_str());
  return 0;
}

}  // namespace

LOOM_COMMAND("convert", "convert a model to GGUF or a Hugging Face folder",
             {
                 {"model", "PATH",
                  "input model: GGUF, llama2.c .bin, .safetensors + config.json, HF folder", ""},
                 {"out", "PATH", "output: a .gguf file or a new (or empty) folder", ""},
                 {"to", "FORMAT", "gguf or hf (default: gguf when --out ends in .gguf)", ""},
                 {"tokenizer", "FILE",
                  "tokenizer to include (llama2.c tok*.bin, .model, tokenizer.json); default: "
                  "the GGUF's own or the files beside the model",
                  ""},
                 {"type", "TYPE", "GGUF weight type: f32, f16 or q8_0 (default: as stored)", ""},
             },
             run_convert,
             "Tensor names, layouts and metadata follow each architecture's spec: q/k rows move\n"
             "between GGUF's interleaved and Hugging Face's half-split RoPE order, GPT-2's\n"
             "Conv1D weights are transposed, Llama 3 rope scaling becomes a rope_freqs tensor\n"
             "(GGUF) or config.json's rope_scaling (HF). Nothing is left at --out on error.\n"
             "Examples:\n"
             "  loom convert --model stories260K.bin --tokenizer tok512.bin --out s.gguf\n"
             "  loom convert --model s.gguf --out s_hf --to hf");
