// T5 and BART against PyTorch (tests/reference/models/t5_golden.py and bart_golden.py, written
// from the papers and the published configs; float64 on the files' float32 weights): T5's
// relative position buckets for every distance in ±1000; the training backend on a padded batch
// (padded encoder inputs, padded decoder inputs): encoder output, decoder logits, cross-entropy
// and every gradient; padded rows equal each sequence alone; HF directories round-trip bit for
// bit; bad checkpoints are errors naming the file and the field.
//
// Criterion: max |loom - torch| / max |torch| over a tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "golden_tensors.h"
#include "hf_dir_util.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "models/layers.h"
#include "models/model.h"
#include "nn/ops.h"
#include "test_util.h"

namespace loom::models {
namespace {

namespace fs = std::filesystem;
using test::Golden;

using test::expect_names;
using test::rel_err;

// "t5" -> models/t5/t5_hf; "bart/bart" -> models/bart/bart_hf.
std::string dir_of(const std::string& name) {
  const size_t slash = name.find('/');
  return slash == std::string::npos ? test::golden_path("models/t5/" + name + "_hf")
                                    : test::golden_path("models/" + name + "_hf");
}

Golden golden_of(const std::string& name) {
  const size_t slash = name.find('/');
  return slash == std::string::npos
             ? test::load_golden("models/t5", name)
             : test::load_golden("models/" + name.substr(0, slash), name.substr(slash + 1));
}

// Each golden table holds bucket(d) for d = -1000 .. 1000.
TEST(T5Buckets, EqualTheReferenceForEveryDistanceWithin1000) {
  const Golden g = test::load_golden("models/t5", "buckets");
  struct Table {
    const char* name;
    bool bidirectional;
    int64_t buckets, max_distance;
  };
  int checked = 0;
  for (const Table& t :
       {Table{"bidirectional_32_128", true, 32, 128}, Table{"causal_32_128", false, 32, 128},
        Table{"bidirectional_8_20", true, 8, 20}, Table{"causal_8_20", false, 8, 20}}) {
    const std::vector<float>& want = g.at(t.name);
    ASSERT_EQ(want.size(), 2001u);
    for (int64_t d = -1000; d <= 1000; ++d, ++checked)
      ASSERT_EQ(relative_position_bucket(d, t.bidirectional, t.buckets, t.max_distance),
                static_cast<int32_t>(want[static_cast<size_t>(d + 1000)]))
          << t.name << " distance " << d;
  }
  EXPECT_EQ(checked, 4 * 2001);
}

struct Batch {
  int64_t B = 0, S = 0, T = 0;
  std::vector<int32_t> enc, dec, labels, enc_len, dec_len;
  std::vector<uint8_t> enc_mask, dec_mask;
  TokenBatch tokens() const {
    return {enc.data(), B, S, nullptr, enc_mask.data(), dec.data(), T, dec_mask.data()};
  }
};

template <typename T>
std::vector<T> ints(const std::vector<float>& v) {
  std::vector<T> out;
  for (float x : v) out.push_back(static_cast<T>(x));
  return out;
}

Batch batch_of(const Golden& g) {
  Batch b;
  b.B = std::stoll(g.config.at("batch"));
  b.S = std::stoll(g.config.at("enc_seq"));
  b.T = std::stoll(g.config.at("dec_seq"));
  b.enc = ints<int32_t>(g.at("enc_ids"));
  b.dec = ints<int32_t>(g.at("dec_ids"));
  b.labels = ints<int32_t>(g.at("labels"));
  b.enc_mask = ints<uint8_t>(g.at("enc_mask"));
  b.dec_mask = ints<uint8_t>(g.at("dec_mask"));
  for (int64_t s = 0; s < b.B; ++s) {
    int32_t n = 0, m = 0;
    for (int64_t i = 0; i < b.S; ++i) n += b.enc_mask[s * b.S + i];
    for (int64_t i = 0; i < b.T; ++i) m += b.dec_mask[s * b.T + i];
    b.enc_len.push_back(n);
    b.dec_len.push_back(m);
  }
  return b;
}

std::unique_ptr<CausalLm> trainable(const std::string& dir) {
  io::TensorMap map = io::read_model_file(dir);
  auto m = std::make_unique<CausalLm>(read_config(architecture_of(map), map));
  load_hf_weights(*m, map);
  return m;
}

class T5Golden : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    g_ = golden_of(GetParam());
    b_ = batch_of(g_);
  }
  Golden g_;
  Batch b_;
};

// L = CE(logits, labels) + Σ enc·r_enc + Σ logits·r_logits on the padded batch: outputs, loss and
// every gradient (the shared embedding, both relative-bias tables, every block).
TEST_P(T5Golden, TrainingBackendAndEveryGradientMatchPyTorch) {
  auto m = trainable(dir_of(GetParam()));
  ThreadPool pool(2);
  nn::Tape t(pool);
  const TokenBatch in = b_.tokens();
  nn::Var enc = m->encoded(t, in);
  nn::Var logits = m->head(t, in, m->decoded(t, in, enc));
  const double e_enc = rel_err(t.data(enc), g_.at("enc_hidden").data(), g_.at("enc_hidden").size());
  const double e_log = rel_err(t.data(logits), g_.at("logits").data(), g_.at("logits").size());
  EXPECT_LE(e_enc, 1e-5);
  EXPECT_LE(e_log, 1e-5);
  nn::Var ce = nn::cross_entropy(t, logits, b_.labels.data(), b_.B * b_.T);
  EXPECT_NEAR(t.data(ce)[0], g_.at("ce")[0], 1e-5 * std::fabs(g_.at("ce")[0]));
  nn::Var loss = nn::add(t, nn::add(t, ce, nn::weighted_sum(t, enc, g_.at("r_enc").data())),
                         nn::weighted_sum(t, logits, g_.at("r_logits").data()));
  EXPECT_NEAR(t.data(loss)[0], g_.at("loss")[0], 1e-5 * std::fabs(g_.at("loss")[0]));
  t.backward(loss);
  const double worst = test::check_param_gradients(m->params(), g_);
  std::printf("%s training: encoder %.2e logits %.2e, %zu gradients worst %.2e\n", GetParam(),
              e_enc, e_log, m->params().params().size(), worst);
}

// seq2seq_loss (encoder + decoder + head + cross-entropy in one call) is the golden's CE.
TEST_P(T5Golden, Seq2SeqLossEqualsPyTorchCrossEntropy) {
  auto m = trainable(dir_of(GetParam()));
  ThreadPool pool(1);
  nn::Tape t(pool);
  nn::Var ce = m->seq2seq_loss(t, b_.tokens(), b_.labels.data());
  EXPECT_NEAR(t.data(ce)[0], g_.at("ce")[0], 1e-5 * std::fabs(g_.at("ce")[0]));
}

// Padding changes nothing on the real tokens: each pair of sequences alone (batch 1, no masks)
// gives the padded batch's encoder rows and logits, up to float32 rounding of differently shaped
// GEMMs (measured ~1.5e-6; a padded key leaking in would be O(1)).
TEST_P(T5Golden, PaddedBatchEqualsEachSequenceAlone) {
  auto m = trainable(dir_of(GetParam()));
  ThreadPool pool(1);
  nn::Tape t(pool);
  t.set_grad_enabled(false);
  const TokenBatch in = b_.tokens();
  nn::Var enc = m->encoded(t, in);
  nn::Var logits = m->head(t, in, m->decoded(t, in, enc));
  const int64_t C = m->config().dim, V = m->config().vocab_size;
  for (int64_t s = 0; s < b_.B; ++s) {
    const int64_t n = b_.enc_len[s], k = b_.dec_len[s];
    const TokenBatch one{b_.enc.data() + s * b_.S, 1, n,      nullptr, nullptr,
                         b_.dec.data() + s * b_.T, k, nullptr};
    nn::Var e1 = m->encoded(t, one);
    nn::Var l1 = m->head(t, one, m->decoded(t, one, e1));
    EXPECT_LE(rel_err(t.data(e1), t.data(enc) + s * b_.S * C, n * C), 1e-5) << s;
    EXPECT_LE(rel_err(t.data(l1), t.data(logits) + s * b_.T * V, k * V), 1e-5) << s;
  }
}

// BART (tests/reference/models/bart_golden.py) has the same golden layout and runs the same
// checks.
INSTANTIATE_TEST_SUITE_P(Golden, T5Golden, ::testing::Values("t5", "t5v11", "bart/bart"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(n.find('/') + 1);
                         });

std::string temp_dir(const std::string& tag) { return test::temp_dir("loom_t5", tag); }

// Read as Hugging Face form and saved (save_hf_directory), and loaded into a trainable model and
// saved (save_hf_model): every tensor bit-identical, every config.json field kept, and the
// saved directory loads to the same config.
TEST_P(T5Golden, SavedDirectoryRoundTrips) {
  const std::string src = dir_of(GetParam());
  HfModel hf = read_hf_model(src);
  const std::string tag = std::string(GetParam()).substr(std::string(GetParam()).find('/') + 1);
  const std::string out = temp_dir(tag);
  save_hf_directory(out, hf.tensors, hf.config_json);
  test::expect_same_tensors(src, out);
  test::expect_config_kept(src, out);
  const std::string out2 = temp_dir(tag + "_trained");
  auto m = trainable(src);
  save_hf_model(*m, out2, hf.config_json);
  test::expect_same_tensors(src, out2);
  test::expect_config_kept(src, out2);
  auto back = trainable(out2);
  EXPECT_EQ(back->config().describe(), m->config().describe());
  EXPECT_EQ(back->config().n_decoder_layers, m->config().n_decoder_layers);
  EXPECT_EQ(back->config().gated_ffn, m->config().gated_ffn);
  EXPECT_EQ(back->config().tied_head, m->config().tied_head);
  fs::remove_all(out);
  fs::remove_all(out2);
}

// A copy of a golden directory with config.json edited by `edit` and tensor `drop` left out.
std::string broken_copy(const std::string& name, const std::string& tag,
                        const std::function<void(nlohmann::json&)>& edit,
                        const std::string& drop = "") {
  return test::edited_hf_copy(dir_of(name), temp_dir(tag), edit,
                              [&](const std::string& n) { return n == drop ? std::string() : n; });
}

std::string load_error(const std::string& dir) {
  try {
    trainable(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(T5BadInput, ConfigSizesThatDisagreeWithTheTensors) {
  const std::string d = broken_copy("t5v11", "dkv", [](auto& c) { c["d_kv"] = 4; });
  expect_names(
      load_error(d),
      {"model.safetensors", "encoder.block.0.layer.0.SelfAttention.q.weight", "(12, 16)", "d_kv"});
  fs::remove_all(d);
  const std::string b =
      broken_copy("t5", "buckets", [](auto& c) { c["relative_attention_num_buckets"] = 9; });
  expect_names(load_error(b), {"relative_attention_bias.weight", "(9, 2)"});
  fs::remove_all(b);
}

TEST(T5BadInput, MissingTensorIsNamed) {
  const std::string d = broken_copy(
      "t5v11", "missing", [](auto&) {}, "decoder.block.2.layer.2.DenseReluDense.wi_1.weight");
  expect_names(load_error(d), {"model.safetensors", "decoder.block.2.layer.2.DenseReluDense.wi_1"});
  fs::remove_all(d);
  // Untied without lm_head.weight.
  const std::string h =
      broken_copy("t5", "head", [](auto& c) { c["tie_word_embeddings"] = false; });
  expect_names(load_error(h), {"lm_head.weight"});
  fs::remove_all(h);
}

TEST(T5BadInput, UnknownModelTypeAndFeedForward) {
  const std::string d = broken_copy("t5", "type", [](auto& c) {
    c["model_type"] = "t6";
    c["architectures"] = {"T6ForConditionalGeneration"};
  });
  expect_names(load_error(d),
               {"model.safetensors", "unknown architecture 'T6ForConditionalGeneration'"});
  fs::remove_all(d);
  const std::string m = broken_copy("t5", "model_type", [](auto& c) {
    c["model_type"] = "t6";
    c.erase("architectures");
  });
  expect_names(load_error(m), {"model.safetensors", "unknown architecture 't6'"});
  fs::remove_all(m);
  const std::string f =
      broken_copy("t5", "ff", [](auto& c) { c["feed_forward_proj"] = "gated-silu"; });
  expect_names(load_error(f), {"config.json", "feed_forward_proj", "gated-silu"});
  fs::remove_all(f);
}

// n_positions is 16: an encoder or decoder sequence of 17 is refused by name, before any work.
TEST(T5BadInput, SequenceLongerThanAllowed) {
  auto m = trainable(dir_of("t5"));
  ThreadPool pool(1);
  nn::Tape t(pool);
  const std::vector<int32_t> long_ids(17, 5), short_ids(3, 5);
  for (const TokenBatch& in :
       {TokenBatch{long_ids.data(), 1, 17, nullptr, nullptr, short_ids.data(), 3, nullptr},
        TokenBatch{short_ids.data(), 1, 3, nullptr, nullptr, long_ids.data(), 17, nullptr}}) {
    try {
      m->hidden(t, in);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      expect_names(e.what(), {"sequence length 17", "max_seq 16"});
    }
  }
  // Without decoder inputs, and through the next-token loss: errors, not crashes.
  try {
    m->hidden(t, TokenBatch{short_ids.data(), 1, 3});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    expect_names(e.what(), {"encoder-decoder", "decoder inputs"});
  }
  const std::vector<int32_t> targets(3, 1);
  EXPECT_THROW(m->loss(t, short_ids.data(), targets.data(), 1, 3), Error);
}

TEST(BartBadInput, SizesMissingTensorsAndUnsupportedOptions) {
  const std::string d = broken_copy("bart/bart", "bart_ffn", [](auto& c) {
    c["encoder_ffn_dim"] = 24;
    c["decoder_ffn_dim"] = 24;
  });
  expect_names(load_error(d),
               {"model.safetensors", "model.encoder.layers.0.fc1.weight", "(24, 16)"});
  fs::remove_all(d);
  const std::string m = broken_copy(
      "bart/bart", "bart_missing", [](auto&) {}, "model.decoder.layers.2.encoder_attn.k_proj.bias");
  expect_names(load_error(m),
               {"model.safetensors", "model.decoder.layers.2.encoder_attn.k_proj.bias"});
  fs::remove_all(m);
  const std::string n =
      broken_copy("bart/bart", "bart_norm", [](auto& c) { c["normalize_before"] = true; });
  expect_names(load_error(n), {"config.json", "normalize_before"});
  fs::remove_all(n);
  const std::string h =
      broken_copy("bart/bart", "bart_heads", [](auto& c) { c["decoder_attention_heads"] = 2; });
  expect_names(load_error(h), {"config.json", "decoder_attention_heads"});
  fs::remove_all(h);
}

// max_position_embeddings is 16: a decoder sequence of 17 is refused by name.
TEST(BartBadInput, SequenceLongerThanThePositions) {
  auto m = trainable(dir_of("bart/bart"));
  ThreadPool pool(1);
  nn::Tape t(pool);
  const std::vector<int32_t> long_ids(17, 5), short_ids(3, 5);
  try {
    m->hidden(t,
              TokenBatch{short_ids.data(), 1, 3, nullptr, nullptr, long_ids.data(), 17, nullptr});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    expect_names(e.what(), {"sequence length 17", "max_seq 16"});
  }
}

}  // namespace
}  // namespace loom::models
