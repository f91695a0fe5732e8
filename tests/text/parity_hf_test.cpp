// Every line of every corpus: ids identical to Hugging Face tokenizers (goldens written by
// tests/reference/text/hf_tokenizers_golden.js; see its header for the line convention and digest),
// and decode(encode(line)) == line for byte-level BPE.
#include <gtest/gtest.h>

#include <cinttypes>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "core/threads.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOOM_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define LOOM_UNDER_SANITIZER 1
#endif

namespace {

using loom::test::data_path;
using loom::test::golden_path;

const char* kCorpora[][2] = {
    {"tinyshakespeare", "corpora/tinyshakespeare/input.txt"},
    {"ptb_valid", "corpora/ptb/ptb.valid.txt"},
    {"ptb_test", "corpora/ptb/ptb.test.txt"},
    {"wikitext2_test", "corpora/wikitext-2-raw/wiki.test.raw"},
    {"tinystories", "corpora/tinystories/tinystories_sample.txt"},
    {"lee_background", "corpora/gensim-lee/lee_background.cor"},
    {"lee", "corpora/gensim-lee/lee.cor"},
    {"foldoc", "corpora/foldoc/foldoc.tsv"},
};

// The golden script's convention: split on '\n', drop the empty piece after a final '\n',
// invalid UTF-8 bytes become U+FFFD.
std::vector<std::string> read_lines(const std::string& path) {
  std::string text = loom::read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view raw(text.data() + pos, nl - pos);
    std::string line;
    for (size_t i = 0; i < raw.size();) {
      loom::text::Utf8Char c = loom::text::utf8_next(raw, i);
      if (c.valid) {
        line.append(raw.substr(i, c.len));
      } else {
        loom::text::utf8_append(line, 0xFFFD);
      }
      i += c.len;
    }
    lines.push_back(std::move(line));
    pos = nl + 1;
  }
  return lines;
}

uint64_t fnv_feed(uint64_t h, uint32_t w) {
  for (int k = 0; k < 4; ++k) {
    h ^= (w >> (8 * k)) & 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

void check_corpora(const std::string& tokenizer_file, const std::string& golden_name,
                   bool round_trip) {
  LOOM_REQUIRE_DATA(tokenizer_file);
  auto tok = loom::text::load_tokenizer(tokenizer_file);
  loom::ThreadPool pool(2);
  for (const auto& corpus : kCorpora) {
    std::string grel = "text/hf_goldens/" + golden_name + "__" + corpus[0] + ".json";
    LOOM_REQUIRE_DATA(golden_path(grel));
    auto golden = loom::test::load_golden_json(grel);
    LOOM_REQUIRE_DATA(data_path(corpus[1]));
    std::vector<std::string> lines = read_lines(data_path(corpus[1]));
    ASSERT_EQ(lines.size(), golden["lines"].get<size_t>()) << corpus[1];
    if (golden_name == "gpt2") {  // the script also ran tiktoken's gpt2 on every line
      EXPECT_EQ(golden.value("tiktoken_gpt2_lines_differing", -1), 0) << corpus[1];
    }
    size_t block = golden["block_lines"];
    const auto& blocks = golden["blocks"];
    size_t n_blocks = blocks.size();
#ifdef LOOM_UNDER_SANITIZER
    n_blocks = std::min<size_t>(n_blocks, 2);  // sanitizer builds check a prefix only
#endif
    size_t n_lines = std::min(lines.size(), n_blocks * block);
    std::vector<std::string_view> views(lines.begin(), lines.begin() + n_lines);
    auto encs = tok->encode_batch(views, false, pool);
    const auto& first = golden["first_ids"];
    for (size_t i = 0; i < first.size() && i < n_lines; ++i) {
      ASSERT_EQ(encs[i].ids, first[i].get<std::vector<int32_t>>())
          << golden_name << " " << corpus[1] << " line " << i + 1 << ": " << lines[i];
    }
    size_t total = 0;
    for (size_t b = 0; b < n_blocks; ++b) {
      uint64_t h = 14695981039346656037ull;
      for (size_t i = b * block; i < std::min(n_lines, (b + 1) * block); ++i) {
        for (int32_t id : encs[i].ids) h = fnv_feed(h, uint32_t(id));
        h = fnv_feed(h, 0xffffffffu);
        total += encs[i].ids.size();
      }
      char hex[17];
      std::snprintf(hex, sizeof(hex), "%016" PRIx64, h);
      ASSERT_EQ(std::string(hex), blocks[b].get<std::string>())
          << golden_name << " " << corpus[1] << ": first differing block is " << b << " (lines "
          << b * block + 1 << ".." << std::min(n_lines, (b + 1) * block) << ")";
    }
    if (n_blocks == blocks.size()) {
      EXPECT_EQ(total, golden["tokens"].get<size_t>()) << corpus[1];
    }
    if (round_trip) {
      for (size_t i = 0; i < n_lines; ++i) {
        ASSERT_EQ(tok->decode(encs[i].ids, false), lines[i])
            << golden_name << " " << corpus[1] << " line " << i + 1;
      }
    }
    std::printf("%s %s: %zu lines, %zu tokens identical\n", golden_name.c_str(), corpus[0], n_lines,
                total);
  }
}

TEST(ParityHf, Gpt2EncoderJson) {
  check_corpora(data_path("tokenizers/gpt2/encoder.json"), "gpt2", true);
}
TEST(ParityHf, Llama3) {
  check_corpora(data_path("tokenizers/llama3/tokenizer.json"), "llama3", true);
}
TEST(ParityHf, BertTokenizerJson) {
  check_corpora(data_path("tokenizers/bert-base-uncased/tokenizer.json"), "bert", false);
}
TEST(ParityHf, BertVocabTxt) {
  check_corpora(data_path("tokenizers/bert-base-uncased/vocab.txt"), "bert", false);
}

}  // namespace

namespace {

// Writing tokenizer.json and loading it back gives the same ids on every corpus line.
std::string saved_copy(const std::string& file, const std::string& name) {
  auto tok = loom::text::load_tokenizer(file);
  std::string out = testing::TempDir() + "loom_saved_" + name + ".json";
  tok->save(out);
  return out;
}

TEST(ParityHf, Gpt2SavedAsTokenizerJson) {
  check_corpora(saved_copy(data_path("tokenizers/gpt2/encoder.json"), "gpt2"), "gpt2", true);
}
TEST(ParityHf, BertVocabTxtSavedAsTokenizerJson) {
  check_corpora(saved_copy(data_path("tokenizers/bert-base-uncased/vocab.txt"), "bert"), "bert",
                false);
}

}  // namespace
