#include "text/decoders.h"

#include "text/normalizers.h"
#include "text/regex.h"
#include "text/unicode.h"

namespace loom::text {

using json = nlohmann::ordered_json;

std::string Decoder::summary() const { return to_json().value("type", "?"); }

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

class ByteLevelDecoder : public Decoder {
 public:
  // Joins every token and maps GPT-2's alphabet back to bytes. Chars outside the alphabet
  // (added tokens) are kept as they are.
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string joined, bytes;
    for (const auto& t : tokens) joined += t;
    unicode_string_to_bytes(joined, bytes);
    tokens.assign(1, std::move(bytes));
  }
  json to_json() const override {
    return {{"type", "ByteLevel"},
            {"add_prefix_space", true},
            {"trim_offsets", true},
            {"use_regex", true}};
  }
};

class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (cleanup_) cleanup(t);
    }
  }
  // The tokenization-space cleanup of Hugging Face's WordPiece decoder.
  static void cleanup(std::string& t) {
    replace_all(t, " .", ".");
    replace_all(t, " ?", "?");
    replace_all(t, " !", "!");
    replace_all(t, " ,", ",");
    replace_all(t, " ' ", "'");
    replace_all(t, " n't", "n't");
    replace_all(t, " 'm", "'m");
    replace_all(t, " do not", " don't");
    replace_all(t, " 's", "'s");
    replace_all(t, " 've", "'ve");
    replace_all(t, " 're", "'re");
  }
  json to_json() const override {
    return {{"type", "WordPiece"}, {"prefix", prefix_}, {"cleanup", cleanup_}};
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string rep, bool strip_first, json original)
      : rep_(std::move(rep)), strip_first_(strip_first), json_(std::move(original)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      replace_all(tokens[i], rep_, " ");
      if (i == 0 && strip_first_ && !tokens[i].empty() && tokens[i][0] == ' ') {
        tokens[i].erase(0, 1);
      }
    }
  }
  json to_json() const override { return json_; }

 private:
  std::string rep_;
  bool strip_first_;
  json json_;
};

class ByteFallbackDecoder : public Decoder {
 public:
  // Runs of <0xXX> tokens become their bytes when those form valid UTF-8, else one U+FFFD each.
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t run = 0;
    auto flush = [&] {
      if (run == 0) return;
      if (utf8_valid(bytes)) {
        out.push_back(bytes);
      } else {
        for (size_t k = 0; k < run; ++k) out.push_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      run = 0;
    };
    for (auto& t : tokens) {
      int b = parse_byte(t);
      if (b >= 0) {
        bytes.push_back(char(b));
        ++run;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    tokens.swap(out);
  }
  static int parse_byte(const std::string& t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  }
  json to_json() const override { return {{"type", "ByteFallback"}}; }
};

class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
  json to_json() const override { return {{"type", "Fuse"}}; }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(std::string content, int start, int stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      for (int k = 0;
           k < start_ && t.compare(0, content_.size(), content_) == 0 && !content_.empty(); ++k) {
        t.erase(0, content_.size());
      }
      for (int k = 0; k < stop_ && !content_.empty() && t.size() >= content_.size() &&
                      t.compare(t.size() - content_.size(), content_.size(), content_) == 0;
           ++k) {
        t.erase(t.size() - content_.size());
      }
    }
  }
  json to_json() const override {
    return {{"type", "Strip"}, {"content", content_}, {"start", start_}, {"stop", stop_}};
  }

 private:
  std::string content_;
  int start_, stop_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(json pattern, std::string text, bool is_regex, std::string content,
                 const std::string& where)
      : pattern_(std::move(pattern)),
        content_(std::move(content)),
        regex_(is_regex ? text : regex_escape(text), where) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    MatchScratch ms;
    std::vector<Offset> m;
    for (auto& t : tokens) {
      m.clear();
      regex_.find_all(t, 0, uint32_t(t.size()), ms, m);
      if (m.empty()) continue;
      std::string out;
      uint32_t prev = 0;
      for (const Offset& o : m) {
        out.append(t, prev, o.begin - prev);
        out += content_;
        prev = o.end;
      }
      out.append(t, prev);
      t.swap(out);
    }
  }
  json to_json() const override {
    return {{"type", "Replace"}, {"pattern", pattern_}, {"content", content_}};
  }

 private:
  json pattern_;
  std::string content_;
  Regex regex_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    }
  }
  json to_json() const override { return {{"type", "BPEDecoder"}, {"suffix", suffix_}}; }

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts)
      : parts_(std::move(parts)) {}
  void decode_chain(std::vector<std::string>& tokens) const override {
    for (const auto& p : parts_) p->decode_chain(tokens);
  }
  json to_json() const override {
    json arr = json::array();
    for (const auto& p : parts_) arr.push_back(p->to_json());
    return {{"type", "Sequence"}, {"decoders", arr}};
  }
  std::string summary() const override {
    std::string s = "Sequence[";
    for (size_t i = 0; i < parts_.size(); ++i) s += (i ? ", " : "") + parts_[i]->summary();
    return s + "]";
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

}  // namespace

std::unique_ptr<Decoder> make_byte_level_decoder() { return std::make_unique<ByteLevelDecoder>(); }
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup) {
  return std::make_unique<WordPieceDecoder>(prefix, cleanup);
}

std::unique_ptr<Decoder> decoder_from_json(const JsonNode& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").str();
  if (type == "ByteLevel") return make_byte_level_decoder();
  if (type == "WordPiece") {
    return make_wordpiece_decoder(j.str_or("prefix", "##"), j.bool_or("cleanup", true));
  }
  if (type == "Metaspace") {
    std::string rep = j.str_or("replacement", "\u2581");
    bool strip = true;
    if (auto ps = j.find("prepend_scheme")) {
      strip = ps->str() != "never";
    } else if (auto ap = j.find("add_prefix_space")) {
      strip = ap->boolean();
    }
    return std::make_unique<MetaspaceDecoder>(rep, strip, json(j.raw()));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(j.at("content").str(), int(j.int_or("start", 0)),
                                          int(j.int_or("stop", 0)));
  }
  if (type == "Replace") {
    JsonNode p = j.at("pattern");
    auto [text, is_regex] = read_pattern(p);
    return std::make_unique<ReplaceDecoder>(json(p.raw()), text, is_regex, j.at("content").str(),
                                            j.file() + ": field " + p.path());
  }
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(j.str_or("suffix", "</w>"));
  if (type == "Sequence") {
    JsonNode arr = j.at("decoders");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto d = decoder_from_json(arr.index(i));
      if (d) parts.push_back(std::move(d));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  j.at("type").fail(
      "a supported decoder type (ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, "
      "Replace, BPEDecoder, Sequence)");
}

}  // namespace loom::text
