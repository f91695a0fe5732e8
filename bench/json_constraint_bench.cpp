// Constrained decoding's per-step cost (generate/json_constraint.h) over GPT-2's real vocabulary
// (50,257 tokens, from LOOM_DATA's tokenizers/gpt2): the whole-vocabulary mask at three points of
// a JSON text (before the value, inside a string, after a number) and the one-token check the
// generator tries first when the sampler does not truncate.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "generate/codec.h"
#include "generate/json_constraint.h"
#include "text/tokenizer.h"

namespace {

using loom::generate::JsonConstraint;
using loom::generate::JsonSchema;
using loom::generate::TokenTexts;

const TokenTexts& gpt2_texts() {
  static const TokenTexts texts = [] {
    const char* env = std::getenv("LOOM_DATA");
    const std::string dir = env != nullptr && *env != '\0' ? env : "../shared/data";
    loom::generate::TokenizerCodec codec(
        loom::text::load_tokenizer(dir + "/tokenizers/gpt2/encoder.json"));
    return TokenTexts::from_codec(codec);
  }();
  return texts;
}

const JsonSchema& schema() {
  static const JsonSchema s = JsonSchema::parse(
      R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
          "tags":{"type":"array","items":{"type":"string"}}},"required":["name","age"]})");
  return s;
}

const char* const kPrefixes[] = {"", "{\"name\":\"Ada Lovel", "{\"name\":\"x\",\"age\":12"};

// The constraint after feeding prefix `i` through the vocabulary's one-byte tokens.
JsonConstraint at_prefix(int i) {
  const TokenTexts& v = gpt2_texts();
  JsonConstraint c(schema(), v);
  for (char ch : std::string(kPrefixes[i])) {
    int32_t id = 0;
    while (v.text(id) != std::string(1, ch)) ++id;
    c.accept(id);
  }
  return c;
}

void BM_JsonMask(benchmark::State& state) {
  JsonConstraint c = at_prefix(static_cast<int>(state.range(0)));
  std::vector<float> logits(static_cast<size_t>(gpt2_texts().size()));
  for (auto _ : state) {
    std::fill(logits.begin(), logits.end(), 0.0f);
    c.mask(logits);
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetLabel(kPrefixes[state.range(0)]);
}
BENCHMARK(BM_JsonMask)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_JsonAllowedOne(benchmark::State& state) {
  JsonConstraint c = at_prefix(1);
  int32_t id = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.allowed(id));
    id = (id + 7919) % gpt2_texts().size();
  }
}
BENCHMARK(BM_JsonAllowedOne);

}  // namespace

BENCHMARK_MAIN();
