// BERT and RoBERTa against PyTorch (tests/reference/models/infer_bert.py: common/ref_models.py's
// BertModel + BertForMaskedLM / RoBERTa, float64 on the files' float32 weights): the inference
// backend (Model: hidden states, pooler, MLM logits of each sequence alone) and the training
// backend (CausalLm: a right-padded batch with token types and a key mask, and every gradient of
// a fixed projection loss); padded rows equal the unpadded sequence; an HF directory saved back
// reloads bit-identical; bad checkpoints are errors naming the file and the field.
//
// Criterion throughout: max |loom - torch| / max |torch| over a tensor (relative to its scale;
// gradients that are zero in exact arithmetic are held to an absolute bound, see below).
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
#include "models/gguf_out.h"
#include "models/hf.h"
#include "models/model.h"
#include "nn/ops.h"
#include "test_util.h"

namespace loom::models {
namespace {

namespace fs = std::filesystem;
using test::Golden;

using test::expect_names;
using test::rel_err;

std::string dir_of(const std::string& arch) {
  return test::golden_path("models/infer_bert/" + arch + "_hf");
}

struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> ids, types, lens;
  std::vector<uint8_t> mask;
};

Batch batch_of(const Golden& g) {
  Batch b;
  b.B = std::stoll(g.config.at("batch"));
  b.T = std::stoll(g.config.at("seq"));
  for (float v : g.at("ids")) b.ids.push_back(static_cast<int32_t>(v));
  for (float v : g.at("types")) b.types.push_back(static_cast<int32_t>(v));
  for (float v : g.at("mask")) b.mask.push_back(static_cast<uint8_t>(v));
  for (int64_t s = 0; s < b.B; ++s) {
    int32_t n = 0;
    for (int64_t t = 0; t < b.T; ++t) n += b.mask[s * b.T + t];
    b.lens.push_back(n);
  }
  return b;
}

class Bert : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    g_ = test::load_golden("models/infer_bert", GetParam());
    b_ = batch_of(g_);
  }
  Golden g_;
  Batch b_;
};

// Each sequence alone (its real tokens, token types 0) through the inference backend: hidden
// states, pooler and MLM logits equal PyTorch's rows of the padded batch (hidden0 etc.).
TEST_P(Bert, InferenceMatchesPyTorch) {
  auto m = load_model(dir_of(GetParam()));
  EXPECT_FALSE(m->architecture().causal());
  const int64_t C = m->hidden_size(), V = m->vocab_size(), T = b_.T;
  double worst[3] = {0, 0, 0};
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (int64_t s = 0; s < b_.B; ++s) {
      const int32_t* ids = b_.ids.data() + s * T;
      const int64_t n = b_.lens[s];
      std::vector<float> h(static_cast<size_t>(n * C));
      m->encode(pool, ids, n, h.data());
      worst[0] = std::max(worst[0], rel_err(h.data(), g_.at("hidden0").data() + s * T * C, n * C));
      const std::vector<float> p = m->pooled(pool, ids, n);
      worst[1] = std::max(worst[1], rel_err(p.data(), g_.at("pooled0").data() + s * C, C));
      Session sess(*m, n, n);
      m->forward(sess, pool, ids, n, /*all_logits=*/true);
      worst[2] = std::max(
          worst[2], rel_err(sess.logits().data(), g_.at("logits0").data() + s * T * V, n * V));
    }
  }
  std::printf("%s inference: hidden %.2e pooled %.2e logits %.2e\n", GetParam(), worst[0], worst[1],
              worst[2]);
  for (double w : worst) EXPECT_LE(w, 1e-5);
}

// An encoder runs whole sequences only: decoding a token at a later position is refused.
TEST_P(Bert, TokenByTokenDecodingIsRefused) {
  auto m = load_model(dir_of(GetParam()));
  ThreadPool pool(1);
  Session s(*m, 8, 1);
  const int32_t ids[2] = {b_.ids[0], b_.ids[1]};
  try {
    m->forward(s, pool, ids, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bidirectional encoder"), std::string::npos) << e.what();
  }
}

std::unique_ptr<CausalLm> trainable(const std::string& arch) {
  io::TensorMap map = io::read_model_file(dir_of(arch));
  auto m = std::make_unique<CausalLm>(read_config(architecture_of(map), map));
  load_hf_weights(*m, map);
  return m;
}

// The padded batch with token types and a key mask on the tape: outputs and every gradient of
// L = Σ hidden·r_h + Σ pooled·r_p + Σ logits·r_l.
TEST_P(Bert, TrainingBackendAndEveryGradientMatchPyTorch) {
  auto m = trainable(GetParam());
  ThreadPool pool(2);
  nn::Tape t(pool);
  const TokenBatch in{b_.ids.data(), b_.B, b_.T, b_.types.data(), b_.mask.data()};
  nn::Var h = m->hidden(t, in);
  nn::Var p = m->pooled(t, in, h);
  nn::Var l = m->head(t, in, h);
  EXPECT_LE(rel_err(t.data(h), g_.at("hidden").data(), g_.at("hidden").size()), 1e-5);
  EXPECT_LE(rel_err(t.data(p), g_.at("pooled").data(), g_.at("pooled").size()), 1e-5);
  EXPECT_LE(rel_err(t.data(l), g_.at("logits").data(), g_.at("logits").size()), 1e-5);
  nn::Var loss = nn::add(t,
                         nn::add(t, nn::weighted_sum(t, h, g_.at("r_hidden").data()),
                                 nn::weighted_sum(t, p, g_.at("r_pooled").data())),
                         nn::weighted_sum(t, l, g_.at("r_logits").data()));
  EXPECT_NEAR(t.data(loss)[0], g_.at("loss")[0], 1e-5 * std::fabs(g_.at("loss")[0]));
  t.backward(loss);
  // Every gradient to 1e-5 of its scale; the key bias's (zero in exact arithmetic) to 1e-6 of the
  // largest gradient (hf_dir_util.h).
  const double worst = test::check_param_gradients(m->params(), g_);
  std::printf("%s training: %zu gradients, worst %.2e\n", GetParam(), m->params().params().size(),
              worst);
}

// Padding changes nothing on the real tokens: each sequence alone (batch 1, no mask) gives the
// padded batch's rows, and its pooled vector.
TEST_P(Bert, PaddedBatchEqualsEachSequenceAlone) {
  auto m = trainable(GetParam());
  ThreadPool pool(1);
  nn::Tape t(pool);
  t.set_grad_enabled(false);
  const TokenBatch in{b_.ids.data(), b_.B, b_.T, b_.types.data(), b_.mask.data()};
  nn::Var h = m->hidden(t, in);
  nn::Var l = m->head(t, in, h);
  const int64_t C = m->config().dim, V = m->config().vocab_size, T = b_.T;
  for (int64_t s = 0; s < b_.B; ++s) {
    const int64_t n = b_.lens[s];
    const TokenBatch one{b_.ids.data() + s * T, 1, n, b_.types.data() + s * T, nullptr};
    nn::Var h1 = m->hidden(t, one);
    nn::Var l1 = m->head(t, one, h1);
    EXPECT_LE(rel_err(t.data(h1), t.data(h) + s * T * C, n * C), 1e-6) << s;
    EXPECT_LE(rel_err(t.data(l1), t.data(l) + s * T * V, n * V), 1e-6) << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, Bert, ::testing::Values("bert", "roberta"));

std::string temp_dir(const std::string& tag) { return test::temp_dir("loom_bert", tag); }

// Read as Hugging Face form, saved to a new directory, read again: every tensor bit-identical,
// every config.json field of the original equal.
TEST_P(Bert, SavedDirectoryRoundTrips) {
  const std::string src = dir_of(GetParam());
  HfModel hf = read_hf_model(src);
  const std::string out = temp_dir(GetParam());
  save_hf_directory(out, hf.tensors, hf.config_json);
  test::expect_same_tensors(src, out);
  test::expect_config_kept(src, out);
  auto m = load_model(out);
  EXPECT_EQ(m->config().context_length, load_model(src)->config().context_length);
  fs::remove_all(out);
}

// No GGUF form is written for an encoder (it would compute another model in llama.cpp).
TEST_P(Bert, GgufExportIsRefused) {
  const HfModel hf = read_hf_model(dir_of(GetParam()));
  try {
    to_gguf(hf, {});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("an encoder"), std::string::npos) << e.what();
  }
}

// A copy of the golden directory with config.json edited by `edit` and the tensor `drop` left
// out; returns its path.
// rename(name) -> the name to store it under, "" to leave it out.
std::string edited_copy(const std::string& arch, const std::string& tag,
                        const std::function<void(nlohmann::json&)>& edit,
                        const std::function<std::string(const std::string&)>& rename) {
  return test::edited_hf_copy(dir_of(arch), temp_dir(tag), edit, rename);
}

std::string broken_copy(const std::string& arch, const std::string& tag,
                        const std::function<void(nlohmann::json&)>& edit,
                        const std::string& drop = "") {
  return edited_copy(arch, tag, edit,
                     [&](const std::string& n) { return n == drop ? std::string() : n; });
}

// A bare BertModel as sentence-transformers ships it (no "bert." prefix, no MLM head,
// architectures ["BertModel"]) loads as bert: the same hidden states and pooler; MLM logits are
// an error naming the missing head.
TEST(BertBaseModel, LoadsWithoutPrefixOrHead) {
  const std::string d = edited_copy(
      "bert", "base", [](auto& c) { c["architectures"] = {"BertModel"}; },
      [](const std::string& n) {
        if (n.rfind("cls.", 0) == 0) return std::string();
        return n.rfind("bert.", 0) == 0 ? n.substr(5) : n;
      });
  const Golden g = test::load_golden("models/infer_bert", "bert");
  const Batch b = batch_of(g);
  auto m = load_model(d);
  EXPECT_FALSE(m->config().has_mlm_head);
  ThreadPool pool(1);
  const int64_t n = b.lens[0], C = m->hidden_size();
  std::vector<float> h(static_cast<size_t>(n * C));
  m->encode(pool, b.ids.data(), n, h.data());
  EXPECT_LE(rel_err(h.data(), g.at("hidden0").data(), n * C), 1e-5);
  EXPECT_LE(rel_err(m->pooled(pool, b.ids.data(), n).data(), g.at("pooled0").data(), C), 1e-5);
  Session s(*m, n, n);
  try {
    m->forward(s, pool, b.ids.data(), n, true);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cls.predictions.bias"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

std::string load_error(const std::string& dir) {
  try {
    load_model(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A GGUF encoder (llama.cpp's bert names and keys) is refused by name: untested, not run.
TEST(BertBadInput, GgufEncoderIsRefused) {
  io::TensorMap map("enc.gguf", "gguf");
  map.set_meta("general.architecture", io::MetaValue::of_string("bert"));
  for (const char* k : {"bert.embedding_length", "bert.attention.head_count"})
    map.set_meta(k, io::MetaValue::of_int(32));
  map.set_meta("bert.block_count", io::MetaValue::of_int(2));
  map.set_meta("bert.feed_forward_length", io::MetaValue::of_int(64));
  map.add("token_embd.weight", Tensor::zeros(Shape({61, 32})));
  try {
    build_model(std::move(map));
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    expect_names(e.what(), {"enc.gguf", "a GGUF bert is not supported"});
  }
}

TEST(BertBadInput, SizesDisagreeingWithTheTensors) {
  const std::string d = broken_copy("bert", "size", [](auto& c) { c["intermediate_size"] = 48; });
  expect_names(load_error(d), {"model.safetensors", "intermediate.dense.weight", "48"});
  const std::string d2 = broken_copy("bert", "hid", [](auto& c) { c["hidden_size"] = 48; });
  expect_names(load_error(d2), {"model.safetensors", "word_embeddings.weight", "48"});
  fs::remove_all(d);
  fs::remove_all(d2);
}

TEST(BertBadInput, MissingTensor) {
  const std::string d = broken_copy(
      "roberta", "missing", [](auto&) {}, "roberta.encoder.layer.1.output.dense.bias");
  expect_names(load_error(d), {"model.safetensors", "roberta.encoder.layer.1.output.dense.bias"});
  fs::remove_all(d);
}

TEST(BertBadInput, UnknownModelType) {
  const std::string d = broken_copy("bert", "type", [](auto& c) {
    c["architectures"] = {"BortForMaskedLM"};
    c["model_type"] = "bort";
  });
  expect_names(load_error(d), {"model.safetensors", "BortForMaskedLM", "bert"});
  fs::remove_all(d);
}

TEST(BertBadInput, SequenceLongerThanThePositions) {
  for (const char* arch : {"bert", "roberta"}) {
    auto m = load_model(dir_of(arch));
    const int64_t n = m->context_length() + 1;  // BERT 16, RoBERTa 16 - (1 + 1)
    EXPECT_EQ(m->context_length(), std::string(arch) == "bert" ? 16 : 14);
    std::vector<int32_t> ids(static_cast<size_t>(n), 5);
    std::vector<float> h(static_cast<size_t>(n * m->hidden_size()));
    ThreadPool pool(1);
    try {
      m->encode(pool, ids.data(), n, h.data());
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      expect_names(e.what(), {"model.safetensors", "max_position_embeddings"});
    }
  }
}

}  // namespace
}  // namespace loom::models
