#include "adapter_flags.h"

#include <cstdio>

#include "adapt/adapter.h"

namespace loom::cli {

Flag adapter_flag() {
  return {"adapter", "DIR",
          "PEFT adapter directory (adapter_config.json, adapter_model.safetensors, tokenizer) "
          "to apply to --model, as `loom train` writes it in RUN/adapter",
          ""};
}

ModelWithTokenizer load_model_flags(const Args& args) {
  ModelWithTokenizer out;
  out.tokenizer = args.str("tokenizer");
  if (!args.has("adapter")) {
    out.model = models::load_model(args.need("model"));
    return out;
  }
  const adapt::AdaptedModel a = adapt::load_adapted_model(args.need("model"), args.str("adapter"));
  std::fprintf(stderr, "adapter: %s applied (vocabulary %lld -> %lld, LoRA merged)\n",
               args.str("adapter").c_str(), static_cast<long long>(a.base_vocab),
               static_cast<long long>(a.vocab));
  out.model = a.model;
  if (out.tokenizer.empty()) out.tokenizer = a.tokenizer;
  return out;
}

}  // namespace loom::cli
