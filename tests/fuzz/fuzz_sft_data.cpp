// Instruction and preference JSONL (train/sft_data.h) on GPT-2's real tokenizer: the first byte
// picks the reader (bit 0: preference pairs), the chat template (bits 1-2: none, ChatML,
// Llama 2, Llama 3 from tests/reference/text/chat_template_golden.json) and a sequence limit
// (bit 3: 16 tokens); the rest is the file. Any input must end in success or loom::Error, and
// what parses must hold ids and labels of one length with a trained label equal to its id.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "test_util.h"
#include "train/sft_data.h"

namespace {

struct Fixture {
  std::unique_ptr<loom::text::Tokenizer> tok =
      loom::text::load_tokenizer(loom::test::data_path("tokenizers/gpt2/encoder.json"));
  std::vector<loom::text::ChatTemplate> templates;
  Fixture() {
    std::ifstream f(loom::test::golden_path("text/chat_template_golden.json"));
    const auto j = nlohmann::json::parse(f);
    for (const char* n : {"chatml", "llama2", "llama3"})
      templates.emplace_back(j["templates"][n].get<std::string>(), n);
  }
};

void check(const loom::train::SftExample& e) {
  if (e.ids.size() != e.labels.size() || e.ids.empty()) std::abort();
  for (size_t i = 0; i < e.ids.size(); ++i)
    if (e.labels[i] != loom::train::kIgnoreLabel && e.labels[i] != e.ids[i]) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Fixture fx;
  if (size < 1) return 0;
  loom::train::SftDataOptions o;
  o.tokenizer = fx.tok.get();
  const int t = (data[0] >> 1) & 3;
  if (t > 0) o.chat_template = &fx.templates[t - 1];
  o.tokens.bos_token = "<s>";
  o.tokens.eos_token = "</s>";
  o.max_len = data[0] & 8 ? 16 : 0;
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    if (data[0] & 1) {
      for (const auto& p : loom::train::parse_preference_jsonl(text, "fuzz.jsonl", o)) {
        check(p.chosen);
        check(p.rejected);
      }
    } else {
      for (const auto& e : loom::train::parse_sft_jsonl(text, "fuzz.jsonl", o)) check(e);
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
