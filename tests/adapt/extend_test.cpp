// `adapt extend` as a library (extend.h): stories260K + tok512 with domain terms. Old ids are
// kept, new terms are single tokens, the directory round-trips, tied and untied heads both load
// and generate, original rows keep their sha256, zero terms change no logit; bad input is refused
// before anything is written.
#include "adapt/extend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/mapped_file.h"
#include "io/tensor_map.h"
#include "test_util.h"
#include "text/sentencepiece.h"

namespace loom::adapt {
namespace {

namespace fs = std::filesystem;

std::string stories(const char* f) {
  return test::data_path(std::string("models/stories260K/") + f);
}

std::string temp_dir(const std::string& tag) {
  fs::path p =
      fs::temp_directory_path() / ("loom_extend_" + tag + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p.string();
}

const std::vector<std::string> kTerms = {"compiler", "programming", "language", "Jargon File",
                                         "mainframe"};

ExtendResult extend_stories(const std::vector<std::string>& terms, InitMethod m) {
  auto model = models::load_model(stories("stories260K.bin"));
  GrowOptions g;
  g.method = m;
  g.seed = 7;
  return extend_model(*model, text::load_tokenizer(stories("tok512.model")), terms, g);
}

// Greedy continuation (n tokens) with the model alone; `loom generate` on the directory is
// checked by tests/cli/adapt_extend.sh.
std::vector<int32_t> greedy(const models::Model& m, std::vector<int32_t> ids, int n) {
  ThreadPool pool(1);
  models::Session s(m);
  m.forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()));
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const auto& l = s.logits();
    int32_t best =
        static_cast<int32_t>(std::max_element(l.begin(), l.begin() + m.vocab_size()) - l.begin());
    out.push_back(best);
    m.forward(s, pool, &best, 1);
  }
  return out;
}

std::vector<float> logits_of(const models::Model& m, const std::vector<int32_t>& ids) {
  ThreadPool pool(1);
  models::Session s(m);
  m.forward(s, pool, ids.data(), static_cast<int64_t>(ids.size()), true);
  return s.logits();
}

TEST(Extend, OldIdsKeptAndTermsAreSingleTokens) {
  LOOM_REQUIRE_DATA(stories("tok512.model"));
  ExtendResult r = extend_stories(kTerms, InitMethod::SubtokenMean);
  EXPECT_EQ(r.base_vocab, 512);
  EXPECT_EQ(r.added, 5);
  const text::Tokenizer& tok = *r.tokenizer;
  EXPECT_EQ(tok.vocab_size(), 517);
  for (size_t i = 0; i < kTerms.size(); ++i) {
    std::vector<int32_t> ids;
    tok.encode_ids(kTerms[i], false, ids);
    EXPECT_EQ(ids, std::vector<int32_t>{static_cast<int32_t>(512 + i)}) << kTerms[i];
    tok.encode_ids("see the " + kTerms[i] + " here", false, ids);
    EXPECT_NE(std::find(ids.begin(), ids.end(), 512 + static_cast<int32_t>(i)), ids.end());
    EXPECT_GT(r.subtokens[i].size(), 1u);
  }
  // Every line of the TinyStories sample (none holds a term) keeps SentencePiece's ids.
  auto sp = text::SentencePieceTokenizer::load(stories("tok512.model"));
  std::string text = read_file(test::data_path("corpora/tinystories/tinystories_sample.txt"));
  size_t pos = 0, lines = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    std::vector<int32_t> ids;
    tok.encode_ids(line, true, ids);
    EXPECT_EQ(ids, sp.encode_ids(line, true)) << line;
    ++lines;
  }
  EXPECT_GT(lines, 10u);
}

TEST(Extend, DirectoryRoundTripsAndGenerates) {
  ExtendResult r = extend_stories(kTerms, InitMethod::SubtokenMean);
  const std::string dir = temp_dir("tied");
  save_extended(dir, r);
  auto m = models::load_model(dir);
  EXPECT_EQ(m->vocab_size(), 517);
  EXPECT_TRUE(m->config().tied_head);
  // config.json: loom_extension for training.
  auto cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
  EXPECT_EQ(cfg["loom_extension"]["base_vocab_size"], 512);
  EXPECT_EQ(cfg["loom_extension"]["added"], 5);
  EXPECT_EQ(cfg["loom_extension"]["init"], "subtoken-mean");
  EXPECT_EQ(cfg["vocab_size"], 517);
  // Original rows bit-identical: sha256 of rows [0, 512) of the saved embedding equals the
  // original llama2.c checkpoint's.
  auto base = models::load_model(stories("stories260K.bin"));
  const std::string sha0 = rows_sha256(base->weights().get("token_embd.weight").view(), 0, 512);
  io::TensorMap saved = io::read_safetensors(dir + "/model.safetensors");
  const Tensor& e = saved.get("model.embed_tokens.weight");
  EXPECT_EQ(e.shape(), Shape({517, 64}));
  EXPECT_EQ(rows_sha256(e.view(), 0, 512), sha0);
  EXPECT_EQ(r.embed_sha256, sha0);
  // New rows: the mean of each term's sub-token rows.
  for (size_t i = 0; i < kTerms.size(); ++i) {
    for (int d = 0; d < 64; ++d) {
      double want = 0;
      for (int32_t id : r.subtokens[i]) want += e.f32()[id * 64 + d];
      want /= static_cast<double>(r.subtokens[i].size());
      EXPECT_NEAR(e.f32()[(512 + i) * 64 + d], want, 1e-6);
    }
  }
  // The saved tokenizer.json (+ tokenizer_config.json) encodes like the in-memory one.
  auto tok = text::load_tokenizer(dir + "/tokenizer.json");
  EXPECT_EQ(tok->vocab_size(), 517);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  std::vector<int32_t> a, b;
  tok->encode_ids("The compiler of the Jargon File", true, a);
  r.tokenizer->encode_ids("The compiler of the Jargon File", true, b);
  EXPECT_EQ(a, b);
  // Loads and generates: "The compiler" is BOS, "▁The", the new token.
  std::vector<int32_t> prompt;
  tok->encode_ids("The compiler", true, prompt);
  ASSERT_EQ(prompt.size(), 3u);
  EXPECT_EQ(prompt[2], 512);
  std::vector<int32_t> cont = greedy(*m, prompt, 20);
  EXPECT_EQ(cont.size(), 20u);
  // The same as the in-memory grown model gives.
  for (int32_t id : cont) EXPECT_LT(id, 517);
  fs::remove_all(dir);
}

TEST(Extend, UntiedHeadGrowsByTheSameMethod) {
  // An untied stories260K: the HF export with lm_head.weight = a copy of the embedding scaled, so
  // head rows differ from embedding rows.
  auto base = models::load_model(stories("stories260K.bin"));
  models::HfModel hf = models::to_hf(base->weights());
  const Tensor& emb = hf.tensors.get("model.embed_tokens.weight");
  Tensor head = emb.clone();
  for (int64_t i = 0; i < head.numel(); ++i) head.f32()[i] = 0.5f * head.f32()[i] + 0.01f;
  hf.tensors.add("lm_head.weight", head);
  hf.config_json["tie_word_embeddings"] = false;
  const std::string src = temp_dir("untied_src");
  auto tok0 = text::load_tokenizer(stories("tok512.model"));
  models::save_hf_directory(src, hf.tensors, hf.config_json, {{"tokenizer.json", tok0->to_json()}});
  auto untied = models::load_model(src);
  ASSERT_FALSE(untied->config().tied_head);

  GrowOptions g;
  g.method = InitMethod::SubtokenMean;
  ExtendResult r = extend_model(*untied, text::load_tokenizer(src + "/tokenizer.json"), kTerms, g);
  EXPECT_FALSE(r.model.config.tied_head);
  EXPECT_EQ(r.head_sha256, rows_sha256(head.view(), 0, 512));
  const Tensor& h1 = r.model.tensors.get("lm_head.weight");
  EXPECT_EQ(h1.shape(), Shape({517, 64}));
  EXPECT_EQ(std::memcmp(h1.data(), head.data(), head.nbytes()), 0);
  for (size_t i = 0; i < kTerms.size(); ++i) {
    for (int d = 0; d < 64; ++d) {
      double want = 0;
      for (int32_t id : r.subtokens[i]) want += head.f32()[id * 64 + d];
      want /= static_cast<double>(r.subtokens[i].size());
      EXPECT_NEAR(h1.f32()[(512 + i) * 64 + d], want, 1e-6) << "head row of " << kTerms[i];
    }
  }
  const std::string dir = temp_dir("untied");
  save_extended(dir, r);
  auto m = models::load_model(dir);
  EXPECT_FALSE(m->config().tied_head);
  EXPECT_EQ(m->vocab_size(), 517);
  std::vector<int32_t> cont = greedy(*m, {1, 403, 407, 261, 378}, 20);
  EXPECT_EQ(cont.size(), 20u);
  fs::remove_all(dir);
  fs::remove_all(src);
}

TEST(Extend, EveryInitMethodKeepsOriginalRows) {
  for (InitMethod m : {InitMethod::Normal, InitMethod::Mean, InitMethod::MeanCov}) {
    ExtendResult r = extend_stories(kTerms, m);
    const Tensor& e = r.model.tensors.get("model.embed_tokens.weight");
    EXPECT_EQ(rows_sha256(e.view(), 0, 512), r.embed_sha256) << init_method_name(m);
    EXPECT_EQ(e.shape(), Shape({517, 64}));
  }
}

TEST(Extend, ZeroTermsGiveIdenticalLogits) {
  auto base = models::load_model(stories("stories260K.bin"));
  ExtendResult r = extend_stories({}, InitMethod::SubtokenMean);
  EXPECT_EQ(r.added, 0);
  const std::string dir = temp_dir("zero");
  save_extended(dir, r);
  auto m = models::load_model(dir);
  // Against the base model's own HF export: bit-identical logits.
  models::HfModel hf = models::to_hf(base->weights());
  const std::string dir0 = temp_dir("zero_base");
  models::save_hf_directory(dir0, hf.tensors, hf.config_json);
  auto m0 = models::load_model(dir0);
  const std::vector<int32_t> ids = {1, 403, 407, 261, 378, 265, 100, 7};
  std::vector<float> a = logits_of(*m, ids), b = logits_of(*m0, ids), c = logits_of(*base, ids);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  // Against the llama2.c original (interleaved RoPE, other summation order): within 1e-5.
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, static_cast<double>(std::fabs(a[i] - c[i])));
    den = std::max(den, static_cast<double>(std::fabs(c[i])));
  }
  EXPECT_LT(num / den, 1e-5);
  fs::remove_all(dir);
  fs::remove_all(dir0);
}

TEST(Extend, BadInputIsRefusedBeforeAnythingChanges) {
  auto model = models::load_model(stories("stories260K.bin"));
  auto bad = [&](const std::vector<std::string>& terms, const char* what) {
    GrowOptions g;
    try {
      extend_model(*model, text::load_tokenizer(stories("tok512.model")), terms, g, "t.txt");
      ADD_FAILURE() << "accepted " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("t.txt"), std::string::npos) << e.what();
    }
  };
  bad({"compiler", "compiler"}, "a duplicate");
  bad({"the"}, "a term that is one token already");
  bad({"<s>"}, "an added special token");
  bad({"  "}, "an empty term");
  bad({"ok", std::string("bad\xFF")}, "invalid UTF-8");

  // The terms file.
  const std::string dir = temp_dir("terms");
  fs::create_directories(dir);
  auto terms_err = [&](const std::string& content, const char* want) {
    write_file_atomic(dir + "/t.txt", content);
    try {
      read_terms(dir + "/t.txt");
      ADD_FAILURE() << "accepted " << want;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  terms_err("", "at least one term");
  terms_err("\n\n", "at least one term");
  terms_err("a\nb\na\n", "line 3: duplicate term 'a'");
  terms_err("ok\nbad\xC3\n", "line 2: expected UTF-8");
  // mine-terms TSV: header skipped, first column taken.
  write_file_atomic(dir + "/t.tsv",
                    "term\tfreq\tpieces\tscore\tcurrent pieces\nlanguage\t3\t7\t1\tx\n");
  EXPECT_EQ(read_terms(dir + "/t.tsv"), std::vector<std::string>{"language"});
  fs::remove_all(dir);

  // A tokenizer of another size.
  GrowOptions g;
  EXPECT_THROW(
      extend_model(*model,
                   text::load_tokenizer(test::data_path("tokenizers/llama2/tokenizer.model")),
                   kTerms, g),
      Error);
}

}  // namespace
}  // namespace loom::adapt
