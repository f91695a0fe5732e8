// Adversarial texts against libsentencepiece goldens, random bytes never crash, decode round trips,
// offsets, and malformed .model / .bin files giving one error naming the file and offset/field.
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "golden_json.h"
#include "test_util.h"
#include "text/sentencepiece.h"

using loom::text::SentencePieceTokenizer;
using loom::text::SpPieceType;

namespace {

std::string llama2_model() { return loom::test::data_path("tokenizers/llama2/tokenizer.model"); }
std::string llama2_bin() { return loom::test::data_path("tokenizers/llama2/tokenizer.bin"); }
std::string tok512_model() { return loom::test::data_path("models/stories260K/tok512.model"); }
std::string unigram_model() { return loom::test::golden_path("text/sp_unigram1k.model"); }

std::string from_hex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

void check_random_golden(const std::string& model, const std::string& golden) {
  auto tok = SentencePieceTokenizer::load(model);
  auto g = loom::test::load_golden_json(golden);
  ASSERT_GE(g["random"].size(), 100u);
  for (const auto& c : g["random"]) {
    std::string text = from_hex(c["hex"]);
    auto ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode_ids(text), ids) << "hex " << c["hex"];
    EXPECT_EQ(tok.decode(ids), from_hex(c["decoded_hex"])) << "decode of hex " << c["hex"];
  }
}

TEST(SentencePieceRobust, AdversarialTextsMatchLibSentencePiece) {
  check_random_golden(llama2_model(), "text/sp_golden_llama2.json");
  check_random_golden(tok512_model(), "text/sp_golden_tok512.json");
  check_random_golden(unigram_model(), "text/sp_golden_unigram1k.json");
}

// Hand-built BPE and Unigram models with USER_DEFINED and UNUSED pieces (see sp_reference.py).
TEST(SentencePieceRobust, UserDefinedAndUnusedPiecesMatchLibSentencePiece) {
  auto g = loom::test::load_golden_json("text/sp_golden_tiny.json");
  ASSERT_EQ(g["models"].size(), 2u);
  for (const auto& m : g["models"]) {
    auto tok = SentencePieceTokenizer::from_model_bytes(from_hex(m["model_hex"]), m["name"]);
    ASSERT_GE(m["cases"].size(), 10u);
    for (const auto& c : m["cases"]) {
      const std::string text = c["text"];
      EXPECT_EQ(tok.encode_ids(text), c["ids"].get<std::vector<int32_t>>())
          << m["name"] << ": \"" << text << "\"";
    }
  }
}

std::string random_bytes(loom::Rng& rng, size_t max_len) {
  std::string s(rng.below(max_len + 1), '\0');
  for (char& c : s) c = static_cast<char>(rng.below(256));
  return s;
}

std::string random_utf8(loom::Rng& rng, size_t max_chars) {
  static const char* kAtoms[] = {
      "a",   "Z",  "9",           " ", "  ", "\t", "\xC3\xA9", "\xE4\xBD\xA0", "\xF0\x9F\x91\x8D",
      "<s>", "\n", "\xEF\xBF\xBD"};
  std::string s;
  for (size_t n = rng.below(max_chars + 1); n > 0; --n) s += kAtoms[rng.below(std::size(kAtoms))];
  return s;
}

TEST(SentencePieceRobust, RandomBytesNeverCrashAndOffsetsStayInRange) {
  loom::Rng rng(42);
  for (const auto& path : {llama2_model(), tok512_model(), unigram_model()}) {
    auto tok = SentencePieceTokenizer::load(path);
    for (int i = 0; i < 300; ++i) {
      std::string text = random_bytes(rng, 64);
      auto e = tok.encode(text, true, true);
      ASSERT_EQ(e.ids.size(), e.offsets.size());
      for (size_t k = 0; k < e.ids.size(); ++k) {
        ASSERT_GE(e.ids[k], 0);
        ASSERT_LT(e.ids[k], tok.vocab_size());
        ASSERT_LE(e.offsets[k].first, e.offsets[k].second);
        ASSERT_LE(e.offsets[k].second, text.size());
        if (k > 0) {
          ASSERT_GE(e.offsets[k].first, e.offsets[k - 1].second);  // in order, no overlap
        }
      }
      tok.decode(e.ids);  // must not throw on ids it produced
    }
  }
}

TEST(SentencePieceRobust, ByteFallbackDecodeRoundTrips) {
  // Llama 2 keeps every byte (no whitespace collapsing, byte fallback): decode(encode(x)) == x for
  // valid UTF-8 without U+2581 (it decodes to a space) that does not start with a space (the
  // dummy prefix eats one leading space).
  auto tok = SentencePieceTokenizer::load(llama2_bin());
  loom::Rng rng(7);
  for (int i = 0; i < 500; ++i) {
    std::string text = random_utf8(rng, 20);
    if (!text.empty() && text[0] == ' ') continue;
    EXPECT_EQ(tok.decode(tok.encode_ids(text)), text);
  }
}

TEST(SentencePieceRobust, OffsetsPointAtTheInputBytes) {
  auto tok = SentencePieceTokenizer::load(llama2_model());
  const std::string text = "Hello  w\xC3\xB6rld \xE4\xBD\xA0\xE5\xA5\xBD!";
  auto e = tok.encode(text);
  std::string joined;
  for (size_t k = 0; k < e.ids.size(); ++k) {
    auto [b, en] = e.offsets[k];
    joined += text.substr(b, en - b);
    if (k > 0) {
      EXPECT_GE(b, e.offsets[k - 1].first);
    }
  }
  EXPECT_EQ(joined, text);  // every input byte belongs to exactly one token
  EXPECT_EQ(tok.id_to_piece(e.ids[0]), "\xE2\x96\x81Hello");
  EXPECT_EQ(e.offsets[0], std::make_pair(0u, 5u));
}

TEST(SentencePieceRobust, EncodeNormalizedIsTheModelStage) {
  auto tok = SentencePieceTokenizer::load(llama2_bin());
  const std::string text = "Hello w\xC3\xB6rld \xF0\x9F\xA6\x99!";  // the emoji needs byte fallback
  std::string normalized;
  std::vector<uint32_t> n2o;
  tok.normalizer().normalize(text, &normalized, &n2o);
  EXPECT_EQ(normalized.substr(0, 8), "\xE2\x96\x81Hello");
  loom::text::SpScratch scratch;
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  tok.encode_normalized(normalized, &scratch, &ids, &offsets);
  EXPECT_EQ(ids, tok.encode_ids(text));
  ASSERT_EQ(offsets.size(), ids.size());
  EXPECT_EQ(offsets.back().second, normalized.size());
  EXPECT_EQ(tok.piece_type(ids[ids.size() - 2]), SpPieceType::kByte);
}

TEST(SentencePieceRobust, UnigramDecodeAndLookups) {
  auto tok = SentencePieceTokenizer::load(unigram_model());
  EXPECT_EQ(tok.vocab_size(), 1000);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.piece_to_id("<s>"), 1);
  EXPECT_EQ(tok.piece_to_id("no such piece"), 0);
  // nmt_nfkc + remove_extra_whitespaces: runs of spaces collapse, full-width letters fold.
  EXPECT_EQ(tok.decode(tok.encode_ids("  First   Citizen: ")), "First Citizen:");
  EXPECT_EQ(tok.encode_ids("\xEF\xBC\xA1"), tok.encode_ids("A"));
  EXPECT_THROW(tok.id_to_piece(1000), loom::Error);
}

// --- malformed files ------------------------------------------------------------------------

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const loom::Error& e) {
    return e.what();
  }
  return "";
}

TEST(SentencePieceRobust, TruncatedModelNamesFileAndOffset) {
  std::string bytes = loom::read_file(tok512_model());
  for (size_t cut : {size_t{1}, size_t{5}, size_t{100}, bytes.size() / 2, bytes.size() - 3}) {
    std::string msg = error_of([&] {
      SentencePieceTokenizer::from_model_bytes(std::string_view(bytes).substr(0, cut),
                                               "tok512.model");
    });
    EXPECT_NE(msg.find("tok512.model: at byte offset "), std::string::npos) << cut << ": " << msg;
  }
  EXPECT_NE(error_of([] {
              SentencePieceTokenizer::from_model_bytes("", "empty.model");
            }).find("expected at least one piece"),
            std::string::npos);
}

TEST(SentencePieceRobust, MalformedModelFieldsAreNamed) {
  // Field 1 (pieces) sent as a varint.
  std::string msg = error_of([] { SentencePieceTokenizer::from_model_bytes("\x08\x01", "m"); });
  EXPECT_NE(msg.find("pieces (1): expected wire type length-delimited, got varint"),
            std::string::npos)
      << msg;
  // A piece with type 9.
  msg = error_of([] {
    SentencePieceTokenizer::from_model_bytes(std::string("\x0a\x05\x0a\x01x\x18\x09", 7), "m");
  });
  EXPECT_NE(msg.find("ModelProto.pieces[0]: field type (3): expected 1..6, got 9"),
            std::string::npos)
      << msg;
  // A piece without a string.
  msg = error_of(
      [] { SentencePieceTokenizer::from_model_bytes(std::string("\x0a\x02\x18\x01", 4), "m"); });
  EXPECT_NE(msg.find("missing required field piece (1)"), std::string::npos) << msg;
  // No UNKNOWN piece.
  msg = error_of(
      [] { SentencePieceTokenizer::from_model_bytes(std::string("\x0a\x03\x0a\x01x", 5), "m"); });
  EXPECT_NE(msg.find("UNKNOWN"), std::string::npos) << msg;
  // Length running past the end.
  msg = error_of(
      [] { SentencePieceTokenizer::from_model_bytes(std::string("\x0a\x7f\x0a", 3), "m"); });
  EXPECT_NE(msg.find("m: at byte offset 1: ModelProto: field pieces (1): length 127 runs past"),
            std::string::npos)
      << msg;
}

TEST(SentencePieceRobust, TruncatedBinNamesTokenAndOffset) {
  std::string bytes = loom::read_file(loom::test::data_path("models/stories260K/tok512.bin"));
  std::string msg = error_of([&] {
    SentencePieceTokenizer::from_llama2c_bytes(std::string_view(bytes).substr(0, 33), "tok512.bin");
  });
  EXPECT_NE(msg.find("tok512.bin: at byte offset"), std::string::npos) << msg;
  EXPECT_NE(msg.find("token 2"), std::string::npos) << msg;
  // A negative length.
  std::string bad = bytes;
  bad[8] = '\xff', bad[9] = '\xff', bad[10] = '\xff', bad[11] = '\xff';
  msg = error_of([&] { SentencePieceTokenizer::from_llama2c_bytes(bad, "bad.bin"); });
  EXPECT_NE(msg.find("bad.bin: at byte offset 8: token 0 length: expected 0..7"), std::string::npos)
      << msg;
  msg = error_of([&] { SentencePieceTokenizer::from_llama2c_bytes("\x07\x00", "short.bin"); });
  EXPECT_NE(msg.find("short.bin: at byte offset 0"), std::string::npos) << msg;
  msg = error_of([] { SentencePieceTokenizer::load("/nonexistent/tokenizer.model"); });
  EXPECT_NE(msg.find("/nonexistent/tokenizer.model"), std::string::npos) << msg;
}

TEST(SentencePieceRobust, SerializeRoundTrip) {
  for (const auto& path : {llama2_model(), unigram_model()}) {
    auto a = loom::text::load_sentencepiece_model(path);
    std::string bytes = loom::text::serialize_sentencepiece_model(a);
    auto tok = SentencePieceTokenizer::from_model_bytes(bytes, "roundtrip");
    auto orig = SentencePieceTokenizer::load(path);
    ASSERT_EQ(tok.vocab_size(), orig.vocab_size());
    const char* text = "  Round-trip: the quick brown fox \xEF\xBC\xA1 \xE4\xBD\xA0 ";
    EXPECT_EQ(tok.encode_ids(text), orig.encode_ids(text));
    EXPECT_EQ(tok.proto().normalizer_spec.precompiled_charsmap,
              a.normalizer_spec.precompiled_charsmap);
  }
}

}  // namespace
