#include "text/tokenizer_train.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "core/error.h"
#include "core/threads.h"
#include "text/bpe_trainer.h"
#include "text/json_util.h"
#include "text/loaders.h"
#include "text/normalizers.h"
#include "text/pre_tokenizers.h"
#include "text/scratch.h"

namespace loom::text {

using ojson = nlohmann::ordered_json;

namespace {

bool has_token(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

ojson added_tokens_json(const std::vector<std::string>& specials) {
  ojson arr = ojson::array();
  for (size_t i = 0; i < specials.size(); ++i) {
    arr.push_back({{"id", i},
                   {"content", specials[i]},
                   {"single_word", false},
                   {"lstrip", false},
                   {"rstrip", false},
                   {"normalized", false},
                   {"special", true}});
  }
  return arr;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using WordCounts = std::unordered_map<std::string, int64_t, StringHash, std::equal_to<>>;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Throws for an empty or repeated special token, and for WordPiece without its unknown token.
void check_special_tokens(const TokenizerTrainOptions& o) {
  for (size_t i = 0; i < o.special_tokens.size(); ++i) {
    if (o.special_tokens[i].empty())
      throw Error("tokenizer trainer: special token " + std::to_string(i) + " is empty");
    for (size_t k = 0; k < i; ++k)
      if (o.special_tokens[k] == o.special_tokens[i])
        throw Error("tokenizer trainer: special token \"" + o.special_tokens[i] +
                    "\" is given twice");
  }
  if (o.type == TrainedTokenizerType::kWordPiece && !has_token(o.special_tokens, o.unk_token)) {
    throw Error("tokenizer trainer: WordPiece needs the unknown token \"" + o.unk_token +
                "\" among the special tokens");
  }
}

// The "model" of a byte-level BPE tokenizer trained on words, its tokens in GPT-2 characters.
ojson train_byte_level_model(const std::vector<std::pair<std::string, int64_t>>& words,
                             const TokenizerTrainOptions& o) {
  BpeTrainerOptions bo;
  bo.vocab_size = o.vocab_size;
  bo.min_frequency = o.min_frequency;
  bo.special_tokens = o.special_tokens;
  bo.tie_break = BpeTieBreak::kHuggingFace;
  BpeTrainerResult r = train_byte_bpe(words, bo);
  std::vector<std::string> vocab = r.vocab;
  for (size_t i = o.special_tokens.size(); i < vocab.size(); ++i)
    vocab[i] = gpt2_bytes_to_unicode(vocab[i]);
  ojson merges = ojson::array();
  for (const auto& [a, b] : r.merges)
    merges.push_back(gpt2_bytes_to_unicode(a) + " " + gpt2_bytes_to_unicode(b));
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", nullptr},
          {"end_of_word_suffix", nullptr},
          {"fuse_unk", false},
          {"byte_fallback", false},
          {"ignore_merges", false},
          {"vocab", vocab_to_json(vocab)},
          {"merges", std::move(merges)}};
}

// The "model" of a WordPiece tokenizer trained on words.
ojson train_wordpiece_model(std::vector<std::pair<std::string, int64_t>> words,
                            const TokenizerTrainOptions& o) {
  // Most frequent words first (then by bytes): the order fixes the ids of "##x" tokens.
  std::stable_sort(words.begin(), words.end(),
                   [](const auto& x, const auto& y) { return x.second > y.second; });
  WordPieceTrainerOptions wo;
  wo.vocab_size = o.vocab_size;
  wo.min_frequency = o.min_frequency;
  wo.special_tokens = o.special_tokens;
  wo.limit_alphabet = o.limit_alphabet;
  WordPieceTrainerResult r = train_wordpiece(words, wo);
  return {{"type", "WordPiece"},
          {"unk_token", o.unk_token},
          {"continuing_subword_prefix", "##"},
          {"max_input_chars_per_word", 100},
          {"vocab", vocab_to_json(r.vocab)}};
}

}  // namespace

std::vector<std::string_view> split_lines_with_endings(std::string_view text) {
  std::vector<std::string_view> out;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

ojson trained_tokenizer_skeleton(const TokenizerTrainOptions& o) {
  ojson j;
  if (o.type == TrainedTokenizerType::kByteLevelBpe) {
    // As Hugging Face's ByteLevelBPETokenizer saves it.
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "ByteLevel"},
                          {"add_prefix_space", false},
                          {"trim_offsets", true},
                          {"use_regex", true}};
    j["post_processor"] = {{"type", "ByteLevel"},
                           {"add_prefix_space", true},
                           {"trim_offsets", false},
                           {"use_regex", true}};
    j["decoder"] = {{"type", "ByteLevel"},
                    {"add_prefix_space", true},
                    {"trim_offsets", true},
                    {"use_regex", true}};
    return j;
  }
  // As BertWordPieceTokenizer saves it.
  j["normalizer"] = {{"type", "BertNormalizer"},
                     {"clean_text", true},
                     {"handle_chinese_chars", true},
                     {"strip_accents", nullptr},
                     {"lowercase", o.lowercase}};
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  j["post_processor"] = nullptr;
  if (has_token(o.special_tokens, "[CLS]") && has_token(o.special_tokens, "[SEP]")) {
    auto id = [&](const char* t) {
      return std::find(o.special_tokens.begin(), o.special_tokens.end(), t) -
             o.special_tokens.begin();
    };
    j["post_processor"] = {{"type", "BertProcessing"},
                           {"sep", {"[SEP]", id("[SEP]")}},
                           {"cls", {"[CLS]", id("[CLS]")}}};
  }
  j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  return j;
}

std::vector<std::pair<std::string, int64_t>> count_pre_tokens(
    std::span<const std::string_view> docs, const ojson& skeleton, ThreadPool& pool) {
  const std::string name = "trainer skeleton";
  const nlohmann::json sk = nlohmann::json::parse(skeleton.dump());
  JsonNode root(sk, name);
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  if (auto n = root.find("normalizer")) normalizer = normalizer_from_json(*n);
  if (auto p = root.find("pre_tokenizer")) pre_tokenizer = pre_tokenizer_from_json(*p);

  // One map per chunk of documents, merged at the end: chunks are fixed by the pool's split.
  const int64_t n = static_cast<int64_t>(docs.size());
  const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(n, pool.size() * 8));
  std::vector<WordCounts> maps(n_chunks);
  pool.parallel_for(n_chunks, 1, [&](int64_t cb, int64_t ce) {
    Scratch sc;
    for (int64_t c = cb; c < ce; ++c) {
      auto& counts = maps[c];
      const int64_t b = n * c / n_chunks, e = n * (c + 1) / n_chunks;
      for (int64_t i = b; i < e; ++i) {
        PreTokenized& pt = sc.pt;
        pt.splits.clear();
        pt.norm.reset(docs[i]);
        if (normalizer) normalizer->normalize(pt.norm, sc);
        if (pt.norm.text().empty()) continue;
        pt.splits.push_back({0, static_cast<uint32_t>(pt.norm.text().size()), -1});
        if (pre_tokenizer) pre_tokenizer->pre_tokenize(pt, sc);
        const std::string& t = pt.norm.text();
        for (const Split& s : pt.splits) {
          if (s.end <= s.begin) continue;
          std::string_view w(t.data() + s.begin, s.end - s.begin);
          auto it = counts.find(w);
          if (it == counts.end()) {
            counts.emplace(std::string(w), 1);
          } else {
            ++it->second;
          }
        }
      }
    }
  });
  WordCounts all = std::move(maps[0]);
  for (int64_t c = 1; c < n_chunks; ++c) {
    for (auto& [w, k] : maps[c]) all[w] += k;
    maps[c].clear();
  }
  std::vector<std::pair<std::string, int64_t>> out(std::make_move_iterator(all.begin()),
                                                   std::make_move_iterator(all.end()));
  std::sort(out.begin(), out.end());
  return out;
}

std::unique_ptr<PipelineTokenizer> train_tokenizer(std::span<const std::string_view> docs,
                                                   const TokenizerTrainOptions& o, ThreadPool& pool,
                                                   TokenizerTrainStats* stats) {
  check_special_tokens(o);
  ojson j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added_tokens_json(o.special_tokens);
  const ojson skeleton = trained_tokenizer_skeleton(o);
  for (const auto& [k, v] : skeleton.items()) j[k] = v;

  TokenizerTrainStats st;
  st.documents = static_cast<int64_t>(docs.size());
  auto t0 = std::chrono::steady_clock::now();
  auto words = count_pre_tokens(docs, j, pool);
  st.count_seconds = seconds_since(t0);
  st.unique_words = static_cast<int64_t>(words.size());
  for (const auto& w : words) st.words += w.second;

  t0 = std::chrono::steady_clock::now();
  j["model"] = o.type == TrainedTokenizerType::kByteLevelBpe
                   ? train_byte_level_model(words, o)
                   : train_wordpiece_model(std::move(words), o);
  st.merge_seconds = seconds_since(t0);
  if (stats) *stats = st;
  return tokenizer_from_json(j.dump(), "trained tokenizer", {});
}

}  // namespace loom::text
