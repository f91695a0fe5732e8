// Encoder-decoder inference (T5, T5 v1.1, BART): the source encoded once, the decoder run through
// its self- and cross-attention caches, against tests/reference/generate/
// seq2seq_generate_golden.py (PyTorch, float64, the full decoder recomputed every step).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "generate/beam_search.h"
#include "generate/generator.h"
#include "golden_json.h"
#include "test_util.h"

namespace loom::generate {
namespace {

const nlohmann::json& golden() {
  static const nlohmann::json g = test::load_golden_json("generate/seq2seq_generate.json");
  return g;
}

// Worst |a - b| / max(1, |b|) over a row.
double worst_error(std::span<const float> got, const std::vector<double>& want, size_t at) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double w = want[at + i];
    worst = std::max(worst, std::fabs(got[i] - w) / std::max(1.0, std::fabs(w)));
  }
  return worst;
}

class Seq2seq : public testing::TestWithParam<const char*> {
 protected:
  const nlohmann::json& c() const { return golden().at(GetParam()); }
  std::shared_ptr<const models::Model> model() const {
    return models::load_model(test::golden_path(c().at("model").get<std::string>()));
  }
};

// Token by token through the caches, and the whole target in one pass: every position's logits.
TEST_P(Seq2seq, TeacherForcedLogitsMatchPyTorch) {
  auto m = model();
  ThreadPool pool(2);
  const auto src = c().at("source").get<std::vector<int32_t>>();
  const auto dec = c().at("decoder_ids").get<std::vector<int32_t>>();
  const auto want = c().at("logits").get<std::vector<double>>();
  const auto V = static_cast<size_t>(m->vocab_size());
  ASSERT_EQ(want.size(), dec.size() * V);
  models::Session step(*m);
  m->encode_source(step, pool, src.data(), static_cast<int64_t>(src.size()));
  for (size_t i = 0; i < dec.size(); ++i) {
    m->forward(step, pool, &dec[i], 1);
    EXPECT_LT(worst_error(step.logits(), want, i * V), 1e-5) << "position " << i;
  }
  models::Session whole(*m);
  m->encode_source(whole, pool, src.data(), static_cast<int64_t>(src.size()));
  m->forward(whole, pool, dec.data(), static_cast<int64_t>(dec.size()), /*all_logits=*/true);
  EXPECT_LT(worst_error(whole.logits(), want, 0), 1e-5);
  // A new source resets the session: the same logits again.
  m->encode_source(step, pool, src.data(), static_cast<int64_t>(src.size()));
  m->forward(step, pool, dec.data(), 1);
  EXPECT_LT(worst_error(step.logits(), want, 0), 1e-5);
}

TEST_P(Seq2seq, BeamSearchMatchesHuggingFaceSemantics) {
  auto m = model();
  ThreadPool pool(1);
  const auto src = c().at("source").get<std::vector<int32_t>>();
  const std::vector<int32_t> eos = {c().at("eos").get<int32_t>()};
  for (const auto& b : c().at("beams")) {
    SCOPED_TRACE(b.dump().substr(0, 120));
    BeamSearchOptions o;
    o.num_beams = b.at("num_beams").get<int>();
    o.max_new_tokens = b.at("max_new_tokens").get<int64_t>();
    o.length_penalty = b.value("length_penalty", 1.0f);
    o.no_repeat_ngram_size = b.value("no_repeat_ngram_size", 0);
    o.num_return_sequences = b.value("num_return_sequences", 1);
    const auto got = seq2seq_beam_search(*m, pool, src, eos, o);
    const auto& want = b.at("results");
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].tokens, want[i].at("tokens").get<std::vector<int32_t>>());
      const double score = want[i].at("score").get<double>();
      EXPECT_NEAR(got[i].score, score, 1e-5 * std::max(1.0, std::fabs(score)));
    }
  }
}

// Token ids as text: "5 17 30" <-> {5, 17, 30}; each piece prints as " <id>".
class IdCodec final : public TokenCodec {
 public:
  IdCodec(int32_t eos, int32_t vocab) : eos_(eos), vocab_(vocab) {}
  std::vector<int32_t> encode(std::string_view text, bool) const override {
    std::vector<int32_t> ids;
    std::istringstream in{std::string(text)};
    for (int32_t t; in >> t;) ids.push_back(t);
    return ids;
  }
  std::string piece_text(int32_t, int32_t token) const override {
    return " " + std::to_string(token);
  }
  int32_t bos_id() const override { return -1; }
  int32_t eos_id() const override { return eos_; }
  int32_t vocab_size() const override { return vocab_; }

 private:
  int32_t eos_, vocab_;
};

// The Generator reads an encoder-decoder's prompt as the source: greedy decoding is the argmax
// chain from the start token, and --beams gives the golden's best hypothesis.
TEST_P(Seq2seq, GeneratorDecodesFromTheSource) {
  auto m = model();
  ThreadPool pool(1);
  const auto src = c().at("source").get<std::vector<int32_t>>();
  const int32_t eos = c().at("eos").get<int32_t>();
  IdCodec codec(eos, static_cast<int32_t>(m->vocab_size()));
  Generator gen(*m, codec, pool);
  GenerateOptions o;
  o.max_new_tokens = 6;
  o.stop_at_eos = false;
  SamplerConfig greedy;
  greedy.temperature = 0;
  const GenerateResult r = gen.generate_ids(src, o, greedy, SamplerKind::Standard);
  models::Session s(*m);
  m->encode_source(s, pool, src.data(), static_cast<int64_t>(src.size()));
  int32_t t = m->config().decoder_start_token_id;
  std::vector<int32_t> want;
  for (int i = 0; i < 6; ++i) {
    m->forward(s, pool, &t, 1);
    t = static_cast<int32_t>(std::max_element(s.logits().begin(), s.logits().end()) -
                             s.logits().begin());
    want.push_back(t);
  }
  EXPECT_EQ(r.tokens, want);
  const auto& b = c().at("beams")[0];
  o.beams = b.at("num_beams").get<int>();
  o.max_new_tokens = b.at("max_new_tokens").get<int64_t>();
  o.stop_at_eos = true;
  auto best = b.at("results")[0].at("tokens").get<std::vector<int32_t>>();
  if (b.at("results")[0].at("finished").get<bool>()) best.pop_back();
  EXPECT_EQ(gen.generate_ids(src, o, greedy, SamplerKind::Standard).tokens, best);
}

INSTANTIATE_TEST_SUITE_P(Models, Seq2seq, testing::Values("t5", "t5v11", "bart"));

TEST(Seq2seqErrors, SourceFirstAndOnlyForEncoderDecoders) {
  ThreadPool pool(1);
  auto t5 = models::load_model(test::golden_path("models/t5/t5_hf"));
  models::Session s(*t5);
  const int32_t start = 0;
  try {
    t5->forward(s, pool, &start, 1);
    FAIL() << "decoded without a source";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encode a source"), std::string::npos) << e.what();
  }
  auto llama = models::load_model(test::golden_path("models/infer_models/llama_hf"));
  models::Session l(*llama);
  EXPECT_THROW(llama->encode_source(l, pool, &start, 1), Error);
  EXPECT_THROW(seq2seq_beam_search(*llama, pool, std::vector<int32_t>{1}, {}, {}), Error);
}

}  // namespace
}  // namespace loom::generate
