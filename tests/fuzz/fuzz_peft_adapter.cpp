// libFuzzer target: the PEFT adapter loader (models/peft.h). The input is a 4-byte little-endian
// length n, then n bytes of adapter_config.json, then adapter_model.safetensors. What parses is
// applied to a tiny fixed Llama (vocab 6, dim 8, 1 layer, 2 heads, 1 KV head, untied head) and
// the result built into a model. Any input must end in success or loom::Error.
// Seeds (tests/fuzz/corpus/peft_adapter): a LoRA + trainable-tokens adapter and a
// TRAINABLE_TOKENS one for that base, in PEFT's names.
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "io/tensor_map.h"
#include "model_reader_fuzz.h"
#include "models/causal_lm.h"
#include "models/peft.h"

namespace {

const loom::models::HfModel& base() {
  static const loom::models::HfModel b = [] {
    loom::models::DecoderConfig c;
    c.arch = "llama";
    c.vocab_size = 6;
    c.dim = 8;
    c.n_layers = 1;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.hidden_dim = 16;
    c.context_length = 16;
    loom::models::CausalLm m(c);
    m.init(1);
    loom::models::HfModel h;
    h.source = "fuzz base";
    h.config = m.config();
    h.tensors = loom::models::hf_tensors(m, h.source);
    h.config_json = loom::models::config_json(h.config);
    return h;
  }();
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  size_t n = data[0] | (data[1] << 8) | (data[2] << 16) | (static_cast<size_t>(data[3]) << 24);
  if (n > size - 4) n = size - 4;
  const std::string config(reinterpret_cast<const char*>(data + 4), n);
  const std::string dir = loom::fuzz::work_dir();
  const std::string path = dir + "/adapter_model.safetensors";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  if (size > n + 4) std::fwrite(data + 4 + n, 1, size - n - 4, f);
  std::fclose(f);
  try {
    loom::models::PeftAdapter a =
        loom::models::parse_peft_adapter(config, loom::io::read_safetensors(path), dir);
    loom::models::HfModel h = base();
    loom::models::apply_peft_adapter(h, a);
    (void)loom::models::build_hf_model(h)->weight_bytes();
  } catch (const loom::Error&) {
  }
  return 0;
}
