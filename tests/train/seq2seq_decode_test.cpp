// Greedy and beam decoding of models::Seq2Seq (train/seq2seq_decode.h) against
// tests/reference/models/seq2seq_decode_golden.py: PyTorch's modules of the same bidirectional
// model on random weights, greedy and Hugging Face's beam search in float64. Token ids exact;
// scores and sums of log-probabilities within 1e-5 (relative where above 1; Loom runs float32).
#include "train/seq2seq_decode.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "golden_json.h"
#include "io/tensor_map.h"
#include "test_util.h"

namespace loom::train {
namespace {

using models::Seq2Seq;
using models::Seq2SeqOutput;

models::Seq2SeqConfig config_of(const nlohmann::json& g) {
  models::Seq2SeqConfig c;
  auto i = [&](const char* k) { return g.at(k).get<int64_t>(); };
  c.src_vocab = i("src_vocab"), c.tgt_vocab = i("tgt_vocab");
  c.emb_size = i("emb"), c.hidden_size = i("hidden");
  c.bidirectional = true, c.dropout = 0;
  return c;
}

// The golden's model (built in place: Seq2Seq holds references into itself) and sources.
class Seq2SeqDecode : public ::testing::Test {
 protected:
  Seq2SeqDecode() : g(test::load_golden_json("models/seq2seq/decode.json")), model(config_of(g)) {
    model.load(io::read_safetensors(test::golden_path(g.at("model").get<std::string>())));
    for (const auto& row : g.at("sources"))
      for (const auto& v : row) src.push_back(v.get<int32_t>());
    lens = g.at("src_lens").get<std::vector<int32_t>>();
    batch = static_cast<int64_t>(lens.size());
    src_len = static_cast<int64_t>(src.size()) / batch;
    bos = g.at("bos").get<int32_t>(), eos = g.at("eos").get<int32_t>();
  }
  std::vector<Seq2SeqOutput> greedy(ThreadPool& pool) {
    return model.greedy(pool, src.data(), lens.data(), batch, src_len, bos, eos,
                        g.at("max_len").get<int64_t>());
  }
  nlohmann::json g;
  Seq2Seq model;
  std::vector<int32_t> src, lens;  // (B, S) padded, B lengths
  int64_t batch = 0, src_len = 0;
  int32_t bos = 0, eos = 0;
};

void expect_close(double got, double want) {
  EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want)));
}

// Every attention row is a distribution over the source's own positions.
void expect_attention_rows(const Seq2SeqOutput& o, int64_t src_len, int64_t len) {
  const size_t steps = o.tokens.size() + (o.finished ? 1 : 0);
  ASSERT_EQ(o.attention.size(), steps * static_cast<size_t>(src_len));
  for (size_t s = 0; s < steps; ++s) {
    const float* row = o.attention.data() + s * static_cast<size_t>(src_len);
    EXPECT_NEAR(std::accumulate(row, row + len, 0.0), 1.0, 1e-5);
    for (int64_t j = len; j < src_len; ++j) EXPECT_EQ(row[j], 0.0f);
  }
}

TEST_F(Seq2SeqDecode, GreedyMatchesPyTorch) {
  ThreadPool pool(2);
  const std::vector<Seq2SeqOutput> got = greedy(pool);
  const auto& want = g.at("greedy");
  ASSERT_EQ(got.size(), want.size());
  int finished = 0;
  for (size_t b = 0; b < got.size(); ++b) {
    SCOPED_TRACE(b);
    EXPECT_EQ(got[b].tokens, want[b].at("tokens").get<std::vector<int32_t>>());
    EXPECT_EQ(got[b].finished, want[b].at("finished").get<bool>());
    expect_close(got[b].sum_logprobs, want[b].at("sum_logprobs").get<double>());
    expect_attention_rows(got[b], src_len, lens[b]);
    finished += got[b].finished;
  }
  EXPECT_GE(finished, 1);  // the golden has sources that end with EOS and one that does not
  EXPECT_LT(finished, static_cast<int>(got.size()));
}

generate::BeamSearchOptions options_of(const nlohmann::json& c) {
  generate::BeamSearchOptions o;
  o.num_beams = c.at("num_beams").get<int>();
  o.max_new_tokens = c.at("max_new_tokens").get<int64_t>();
  o.length_penalty = c.at("length_penalty").get<float>();
  o.num_return_sequences = c.value("num_return_sequences", 1);
  return o;
}

TEST_F(Seq2SeqDecode, BeamSearchMatchesHuggingFaceSemanticsInPyTorch) {
  ThreadPool pool(2);
  int differs_from_greedy = 0;
  for (const auto& c : g.at("beam")) {
    for (int64_t b = 0; b < batch; ++b) {
      SCOPED_TRACE(c.dump() + " source " + std::to_string(b));
      const std::vector<Seq2SeqOutput> got = seq2seq_beam_search(
          model, pool, src.data() + b * src_len, lens[b], bos, eos, options_of(c));
      const auto& want = c.at("results")[static_cast<size_t>(b)];
      ASSERT_EQ(got.size(), want.size());
      for (size_t r = 0; r < got.size(); ++r) {
        std::vector<int32_t> tokens = got[r].tokens;
        if (got[r].finished) tokens.push_back(eos);  // the golden keeps it, as transformers
        EXPECT_EQ(tokens, want[r].at("tokens").get<std::vector<int32_t>>()) << "rank " << r;
        EXPECT_EQ(got[r].finished, want[r].at("finished").get<bool>()) << "rank " << r;
        expect_close(got[r].score, want[r].at("score").get<double>());
        expect_close(got[r].sum_logprobs, want[r].at("sum_logprobs").get<double>());
        expect_attention_rows(got[r], lens[b], lens[b]);
      }
      const auto& greedy_b = g.at("greedy")[static_cast<size_t>(b)];
      differs_from_greedy += got[0].tokens != greedy_b.at("tokens").get<std::vector<int32_t>>();
    }
  }
  EXPECT_GE(differs_from_greedy, 3);  // the beams find other sequences than greedy
}

// The search's rows are independent: decoding a source alone step by step through Search gives
// greedy's batched tokens and attention.
TEST_F(Seq2SeqDecode, SearchRowsAgreeWithBatchedGreedy) {
  ThreadPool pool(1);
  const auto batched = greedy(pool);
  for (int64_t b = 0; b < batch; ++b) {
    const Seq2SeqOutput& want = batched[static_cast<size_t>(b)];
    std::vector<int32_t> tokens = want.tokens;
    if (want.finished) tokens.push_back(eos);
    const std::vector<float> attn =
        model.attention(pool, src.data() + b * src_len, lens[b], bos, tokens);
    ASSERT_EQ(attn.size(), tokens.size() * static_cast<size_t>(lens[b]));
    for (size_t s = 0; s < tokens.size(); ++s)
      for (int64_t j = 0; j < lens[b]; ++j)
        EXPECT_NEAR(attn[s * lens[b] + j], want.attention[s * src_len + j], 1e-5);
  }
}

}  // namespace
}  // namespace loom::train
