#include "text/normalizers.h"

#include "core/error.h"
#include "text/regex.h"
#include "text/scratch.h"
#include "text/sentencepiece_normalizer.h"

namespace loom::text {

using json = nlohmann::ordered_json;

std::string Normalizer::summary() const { return to_json().value("type", "?"); }

namespace {

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, std::optional<bool> strip, bool lower)
      : clean_(clean),
        chinese_(chinese),
        strip_opt_(strip),
        lower_(lower),
        strip_(strip.value_or(lower)) {}

  void normalize(NormalizedString& s, Scratch& sc) const override {
    s.map_chars(
        [&](char32_t c, std::string_view bytes, std::string& out) {
          if (clean_) {
            if (c == 0 || c == 0xFFFD) return;
            bool ws = c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
            if (ws) {
              out.push_back(' ');
              return;
            }
            if (c >= 0x80 || c < 0x20 || c == 0x7F) {
              if (is_other(c)) return;
            }
          }
          if (chinese_ && c >= 0x3400 && is_cjk_ideograph(c)) {
            // Hugging Face pads first and strips accents (NFD) after, so a compatibility
            // ideograph (U+F900-U+FAFF, U+2F800-U+2FA1F) becomes its unified ideograph.
            out.push_back(' ');
            if (strip_)
              out.append(unicode_normalize(bytes, NormForm::kNFD));
            else
              out.append(bytes);
            out.push_back(' ');
            return;
          }
          if (c < 0x80) {
            out.push_back(lower_ && c >= 'A' && c <= 'Z' ? char(c + 32) : char(c));
            return;
          }
          if (strip_) {
            // NFD, drop nonspacing marks, then lowercase what is left.
            std::string d = unicode_normalize(bytes, NormForm::kNFD);
            for (size_t i = 0; i < d.size();) {
              Utf8Char k = utf8_next(d, i);
              if (!is_mark_nonspacing(k.cp)) {
                if (lower_) {
                  append_lowercase(out, k.cp);
                } else {
                  out.append(d, i, k.len);
                }
              }
              i += k.len;
            }
            return;
          }
          if (lower_) {
            append_lowercase(out, c);
          } else {
            out.append(bytes);
          }
        },
        sc.norm_tmp);
  }
  json to_json() const override {
    return {{"type", "BertNormalizer"},
            {"clean_text", clean_},
            {"handle_chinese_chars", chinese_},
            {"strip_accents", strip_opt_ ? json(*strip_opt_) : json(nullptr)},
            {"lowercase", lower_}};
  }
  std::string summary() const override {
    return std::string("BertNormalizer(") + (lower_ ? "lowercase" : "cased") +
           (strip_ ? ", strip accents" : "") + ")";
  }

 private:
  bool clean_, chinese_;
  std::optional<bool> strip_opt_;
  bool lower_, strip_;
};

// NFC/NFD/NFKC/NFKD. Text is cut at normalization boundaries; a segment that changes maps all
// its output bytes to the segment's original range.
class UnicodeNormalizer : public Normalizer {
 public:
  UnicodeNormalizer(NormForm f, std::string name) : form_(f), name_(std::move(name)) {}
  void normalize(NormalizedString& s, Scratch& sc) const override {
    const std::string& t = s.text();
    if (unicode_is_normalized(t, form_) && utf8_valid(t)) return;
    NormalizedString& out = sc.norm_tmp;
    out.clear_for_build();
    size_t seg = 0;
    auto flush = [&](size_t end) {
      if (end <= seg) return;
      std::string_view piece(t.data() + seg, end - seg);
      std::string n = unicode_normalize(piece, form_);
      if (n == piece) {
        out.append_from(s, uint32_t(seg), uint32_t(end));
      } else {
        out.append(n, s.orig_begin(uint32_t(seg)), s.orig_end(uint32_t(end - 1)));
      }
      seg = end;
    };
    for (size_t i = 0; i < t.size();) {
      Utf8Char c = utf8_next(t, i);
      if (i > seg && (c.cp < 0x300 || unicode_boundary_before(c.cp, form_))) flush(i);
      i += c.len;
    }
    flush(t.size());
    s.swap(out);
  }
  json to_json() const override { return {{"type", name_}}; }

 private:
  NormForm form_;
  std::string name_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString& s, Scratch& sc) const override {
    s.map_chars([](char32_t c, std::string_view, std::string& out) { append_lowercase(out, c); },
                sc.norm_tmp);
  }
  json to_json() const override { return {{"type", "Lowercase"}}; }
};

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString& s, Scratch& sc) const override {
    s.map_chars(
        [](char32_t c, std::string_view b, std::string& out) {
          if (c < 0x300 || !is_mark_nonspacing(c)) out.append(b);
        },
        sc.norm_tmp);
  }
  json to_json() const override { return {{"type", "StripAccents"}}; }
};

class Replace : public Normalizer {
 public:
  Replace(json pattern, std::string literal, bool is_regex, std::string content,
          const std::string& where)
      : pattern_json_(std::move(pattern)), content_(std::move(content)) {
    regex_ = std::make_unique<Regex>(is_regex ? literal : regex_escape(literal), where);
  }
  void normalize(NormalizedString& s, Scratch& sc) const override {
    sc.matches.clear();
    regex_->find_all(s.text(), 0, uint32_t(s.text().size()), sc.match, sc.matches);
    if (sc.matches.empty()) return;
    NormalizedString& out = sc.norm_tmp;
    out.clear_for_build();
    uint32_t prev = 0;
    const std::string& t = s.text();
    for (const Offset& m : sc.matches) {
      out.append_from(s, prev, m.begin);
      // As HF's NormalizedString::replace: the new chars take the alignment of the match's last
      // char (its first chars count as removed), so "  " -> "▁" maps to the second space.
      uint32_t last = m.end > m.begin ? m.end - 1 : m.begin;
      while (last > m.begin && (static_cast<unsigned char>(t[last]) & 0xC0) == 0x80) --last;
      Offset o = m.end > m.begin ? s.original(last, m.end) : s.original(m.begin, m.end);
      out.append(content_, o.begin, o.end);
      prev = m.end;
    }
    out.append_from(s, prev, uint32_t(s.text().size()));
    s.swap(out);
  }
  json to_json() const override {
    return {{"type", "Replace"}, {"pattern", pattern_json_}, {"content", content_}};
  }

 private:
  json pattern_json_;
  std::string content_;
  std::unique_ptr<Regex> regex_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s, Scratch& sc) const override {
    if (s.text().empty()) return;
    NormalizedString& out = sc.norm_tmp;
    out.clear_for_build();
    uint32_t first_len = utf8_next(s.text(), 0).len;
    out.append(prepend_, s.orig_begin(0), s.orig_end(first_len - 1));
    out.append_from(s, 0, uint32_t(s.text().size()));
    s.swap(out);
  }
  json to_json() const override { return {{"type", "Prepend"}, {"prepend", prepend_}}; }

 private:
  std::string prepend_;
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : left_(l), right_(r) {}
  void normalize(NormalizedString& s, Scratch& sc) const override {
    const std::string& t = s.text();
    size_t b = 0, e = t.size();
    if (left_) {
      while (b < e) {
        Utf8Char c = utf8_next(t, b);
        if (!is_whitespace(c.cp)) break;
        b += c.len;
      }
    }
    if (right_) {
      while (e > b) {
        size_t k = e - 1;
        while (k > b && (static_cast<unsigned char>(t[k]) & 0xC0) == 0x80) --k;
        Utf8Char c = utf8_next(t, k);
        if (k + c.len != e || !is_whitespace(c.cp)) break;
        e = k;
      }
    }
    if (b == 0 && e == t.size()) return;
    NormalizedString& out = sc.norm_tmp;
    out.clear_for_build();
    out.append_from(s, uint32_t(b), uint32_t(e));
    s.swap(out);
  }
  json to_json() const override {
    return {{"type", "Strip"}, {"strip_left", left_}, {"strip_right", right_}};
  }

 private:
  bool left_, right_;
};

// Standard base64 (RFC 4648, '=' padding), as tokenizer.json stores precompiled_charsmap.
std::string base64_decode(const JsonNode& j) {
  const std::string& in = j.str_ref();
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() / 4 * 3);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size() && in[i] != '='; ++i) {
    const int v = value(in[i]);
    if (v < 0) j.fail("base64 (bad character at index " + std::to_string(i) + ")");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(char((acc >> bits) & 0xFF));
    }
  }
  for (; i < in.size(); ++i)
    if (in[i] != '=') j.fail("base64 (data after '=' padding at index " + std::to_string(i) + ")");
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size()) v |= uint8_t(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[v & 63] : '=');
  }
  return out;
}

// SentencePiece's precompiled charsmap as Hugging Face applies it: per extended grapheme
// cluster, a cluster shorter than 6 bytes that starts with a rule is replaced whole by the
// shortest such rule's output; otherwise each char is replaced by its rule or kept. (This is
// not sentencepiece's own longest-match scan; the two differ on rare multi-char clusters.)
class Precompiled : public Normalizer {
 public:
  Precompiled(std::string blob, const std::string& name) : blob_(std::move(blob)) {
    if (!blob_.empty()) map_ = SpCharsMap(blob_, name);
  }
  void normalize(NormalizedString& s, Scratch& sc) const override {
    if (map_.empty() || s.text().empty()) return;
    const std::string& t = s.text();
    std::vector<uint32_t>& ends = sc.grapheme_ends;
    ends.clear();
    grapheme_ends(t, ends);
    NormalizedString& out = sc.norm_tmp;
    out.clear_for_build();
    bool changed = false;
    std::string_view rep;
    auto replace = [&](uint32_t b, uint32_t e) {
      Offset o = s.original(b, e);
      out.append(rep, o.begin, o.end);
      changed = true;
    };
    uint32_t b = 0;
    for (uint32_t e : ends) {
      const std::string_view g(t.data() + b, e - b);
      if (g.size() < 6 && map_.shortest_match(g, &rep) > 0) {
        replace(b, e);
      } else {
        for (uint32_t i = b; i < e;) {
          const uint32_t n = utf8_next(t, i).len;
          if (map_.shortest_match(std::string_view(t.data() + i, n), &rep) > 0) {
            replace(i, i + n);
          } else {
            out.append_from(s, i, i + n);
          }
          i += n;
        }
      }
      b = e;
    }
    if (changed) s.swap(out);
  }
  json to_json() const override {
    return {{"type", "Precompiled"}, {"precompiled_charsmap", base64_encode(blob_)}};
  }

 private:
  std::string blob_;
  SpCharsMap map_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(NormalizedString& s, Scratch& sc) const override {
    for (const auto& p : parts_) p->normalize(s, sc);
  }
  json to_json() const override {
    json arr = json::array();
    for (const auto& p : parts_) arr.push_back(p->to_json());
    return {{"type", "Sequence"}, {"normalizers", arr}};
  }
  std::string summary() const override {
    std::string s = "Sequence[";
    for (size_t i = 0; i < parts_.size(); ++i) s += (i ? ", " : "") + parts_[i]->summary();
    return s + "]";
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(bool clean_text, bool handle_chinese_chars,
                                                 std::optional<bool> strip_accents,
                                                 bool lowercase) {
  return std::make_unique<BertNormalizer>(clean_text, handle_chinese_chars, strip_accents,
                                          lowercase);
}

// Reads {"String": s} or {"Regex": r}; returns (text, is_regex).
std::pair<std::string, bool> read_pattern(const JsonNode& p) {
  if (p.has("Regex")) return {p.at("Regex").str(), true};
  if (p.has("String")) return {p.at("String").str(), false};
  p.fail("{\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> normalizer_from_json(const JsonNode& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").str();
  if (type == "BertNormalizer") {
    auto sa = j.find("strip_accents");
    return make_bert_normalizer(
        j.bool_or("clean_text", true), j.bool_or("handle_chinese_chars", true),
        sa ? std::optional<bool>(sa->boolean()) : std::nullopt, j.bool_or("lowercase", true));
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormForm::kNFC, type);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormForm::kNFD, type);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormForm::kNFKC, type);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormForm::kNFKD, type);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Replace") {
    JsonNode p = j.at("pattern");
    auto [text, is_regex] = read_pattern(p);
    return std::make_unique<Replace>(p.raw(), text, is_regex, j.at("content").str(),
                                     j.file() + ": field " + p.path());
  }
  if (type == "Prepend") return std::make_unique<Prepend>(j.at("prepend").str());
  if (type == "Precompiled") {
    JsonNode m = j.at("precompiled_charsmap");
    return std::make_unique<Precompiled>(m.is_null() ? std::string() : base64_decode(m),
                                         j.file() + ": field " + m.path());
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(j.bool_or("strip_left", true), j.bool_or("strip_right", true));
  }
  if (type == "Sequence") {
    JsonNode arr = j.at("normalizers");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto n = normalizer_from_json(arr.index(i));
      if (n) parts.push_back(std::move(n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  j.at("type").fail(
      "a supported normalizer type (BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, "
      "StripAccents, Replace, Prepend, Strip, Precompiled, Sequence)");
}

}  // namespace loom::text
