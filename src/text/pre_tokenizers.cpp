#include "text/pre_tokenizers.h"

#include <algorithm>

#include "text/normalizers.h"
#include "text/regex.h"
#include "text/scratch.h"

namespace loom::text {

using json = nlohmann::ordered_json;

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string PreTokenizer::summary() const { return to_json().value("type", "?"); }

namespace {

const char* behavior_name(SplitBehavior b) {
  switch (b) {
    case SplitBehavior::kRemoved:
      return "Removed";
    case SplitBehavior::kIsolated:
      return "Isolated";
    case SplitBehavior::kMergedWithPrevious:
      return "MergedWithPrevious";
    case SplitBehavior::kMergedWithNext:
      return "MergedWithNext";
    case SplitBehavior::kContiguous:
      return "Contiguous";
  }
  return "?";
}

SplitBehavior behavior_from_json(const JsonNode& j) {
  std::string s = j.str();
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  j.fail("one of Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous");
}

// Turns marked pieces (covering one split in order) into splits, as Hugging Face's
// NormalizedString::split does for each behaviour. Empty pieces are dropped.
void apply_behavior(const std::vector<std::pair<Offset, bool>>& marked, SplitBehavior behavior,
                    std::vector<Split>& out) {
  size_t first = out.size();
  auto push = [&](Offset o) { out.push_back({o.begin, o.end, -1}); };
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& [o, m] : marked) push(o);
      break;
    case SplitBehavior::kRemoved:
      for (const auto& [o, m] : marked)
        if (!m) push(o);
      break;
    case SplitBehavior::kContiguous: {
      bool prev = false;
      for (const auto& [o, m] : marked) {
        if (m == prev && out.size() > first) {
          out.back().end = o.end;
        } else {
          push(o);
        }
        prev = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool prev = false;
      for (const auto& [o, m] : marked) {
        if (m && !prev && out.size() > first) {
          out.back().end = o.end;
        } else {
          push(o);
        }
        prev = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool prev = false;
      for (size_t k = marked.size(); k-- > 0;) {
        const auto& [o, m] = marked[k];
        if (m && !prev && out.size() > first) {
          out.back().begin = o.begin;
        } else {
          push(o);
        }
        prev = m;
      }
      std::reverse(out.begin() + first, out.end());
      break;
    }
  }
  size_t w = first;
  for (size_t r = first; r < out.size(); ++r)
    if (out[r].end > out[r].begin) out[w++] = out[r];
  out.resize(w);
}

// Runs fn(begin, end, out) on each model split; added-token splits pass through.
template <typename F>
void resplit(PreTokenized& pt, Scratch& sc, F&& fn) {
  std::vector<Split>& out = sc.splits_tmp;
  out.clear();
  for (const Split& s : pt.splits) {
    if (s.token_id >= 0) {
      out.push_back(s);
    } else {
      fn(s.begin, s.end, out);
    }
  }
  pt.splits.swap(out);
}

// Marks every char for which pred holds as its own match.
template <typename Pred>
void mark_chars(const std::string& t, uint32_t b, uint32_t e, Pred&& pred,
                std::vector<std::pair<Offset, bool>>& marked) {
  marked.clear();
  uint32_t gap = b;
  for (uint32_t i = b; i < e;) {
    Utf8Char c = utf8_next(std::string_view(t.data(), e), i);
    if (pred(c.cp)) {
      if (gap < i) marked.push_back({{gap, i}, false});
      marked.push_back({{i, i + c.len}, true});
      gap = i + c.len;
    }
    i += c.len;
  }
  if (gap < e) marked.push_back({{gap, e}, false});
}

template <typename Pred>
void split_chars(PreTokenized& pt, Scratch& sc, Pred&& pred, SplitBehavior behavior) {
  resplit(pt, sc, [&](uint32_t b, uint32_t e, std::vector<Split>& out) {
    mark_chars(pt.norm.text(), b, e, pred, sc.marked);
    apply_behavior(sc.marked, behavior, out);
  });
}

// Rebuilds pt.norm from its splits: fn(src, split, out) appends the split's new content.
template <typename F>
void edit_splits(PreTokenized& pt, Scratch& sc, F&& fn) {
  NormalizedString& out = sc.norm_tmp;
  out.clear_for_build();
  std::vector<Split>& splits = sc.splits_tmp;
  splits.clear();
  for (const Split& s : pt.splits) {
    uint32_t b = uint32_t(out.text().size());
    if (s.token_id >= 0) {
      out.append_from(pt.norm, s.begin, s.end);
    } else {
      fn(pt.norm, s, out);
    }
    splits.push_back({b, uint32_t(out.text().size()), s.token_id});
  }
  pt.norm.swap(out);
  pt.splits.swap(splits);
}

class RegexSplit : public PreTokenizer {
 public:
  RegexSplit(json pattern_json, std::string pattern, SplitBehavior behavior, bool invert,
             const std::string& where)
      : pattern_json_(std::move(pattern_json)),
        regex_(std::move(pattern), where),
        behavior_(behavior),
        invert_(invert) {}

  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    const std::string& t = pt.norm.text();
    resplit(pt, sc, [&](uint32_t b, uint32_t e, std::vector<Split>& out) {
      sc.matches.clear();
      regex_.find_all(t, b, e, sc.match, sc.matches);
      if (behavior_ == SplitBehavior::kIsolated) {  // hot path: every piece is a split
        uint32_t prev = b;
        for (const Offset& m : sc.matches) {
          if (prev < m.begin) out.push_back({prev, m.begin, -1});
          out.push_back({m.begin, m.end, -1});
          prev = m.end;
        }
        if (prev < e) out.push_back({prev, e, -1});
        return;
      }
      auto& marked = sc.marked;
      marked.clear();
      uint32_t prev = b;
      for (const Offset& m : sc.matches) {
        if (prev < m.begin) marked.push_back({{prev, m.begin}, invert_});
        marked.push_back({m, !invert_});
        prev = m.end;
      }
      if (prev < e) marked.push_back({{prev, e}, invert_});
      apply_behavior(marked, behavior_, out);
    });
  }
  json to_json() const override {
    return {{"type", "Split"},
            {"pattern", pattern_json_},
            {"behavior", behavior_name(behavior_)},
            {"invert", invert_}};
  }
  std::string summary() const override {
    return std::string("Split(") + behavior_name(behavior_) + (invert_ ? ", inverted" : "") + ", " +
           regex_.pattern() + ")";
  }

 private:
  json pattern_json_;
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevel : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool trim_offsets, bool use_regex)
      : add_prefix_space_(add_prefix_space), trim_offsets_(trim_offsets), use_regex_(use_regex) {
    if (use_regex_) {
      split_ = std::make_unique<RegexSplit>(json{{"Regex", kGpt2Pattern}}, kGpt2Pattern,
                                            SplitBehavior::kIsolated, false, "ByteLevel");
    }
  }
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    if (add_prefix_space_) {
      bool need = false;
      for (const Split& s : pt.splits) need |= s.token_id < 0 && pt.norm.text()[s.begin] != ' ';
      if (need) {
        edit_splits(pt, sc, [](const NormalizedString& src, Split s, NormalizedString& out) {
          if (src.text()[s.begin] != ' ') {
            uint32_t first = utf8_next(src.text(), s.begin).len;
            out.append(" ", src.orig_begin(s.begin), src.orig_end(s.begin + first - 1));
          }
          out.append_from(src, s.begin, s.end);
        });
      }
    }
    if (split_) split_->pre_tokenize(pt, sc);
  }
  bool byte_level() const override { return true; }
  json to_json() const override {
    return {{"type", "ByteLevel"},
            {"add_prefix_space", add_prefix_space_},
            {"trim_offsets", trim_offsets_},
            {"use_regex", use_regex_}};
  }
  std::string summary() const override {
    return std::string("ByteLevel(") + (use_regex_ ? "GPT-2 regex" : "no regex") +
           (add_prefix_space_ ? ", prefix space" : "") + ")";
  }

 private:
  bool add_prefix_space_, trim_offsets_, use_regex_;
  std::unique_ptr<RegexSplit> split_;
};

class BertPreTokenizer : public PreTokenizer {
 public:
  // Whitespace removed, then every punctuation char isolated.
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    const std::string& t = pt.norm.text();
    resplit(pt, sc, [&](uint32_t b, uint32_t e, std::vector<Split>& out) {
      std::string_view v(t.data(), e);
      uint32_t word = b;
      for (uint32_t i = b; i < e;) {
        unsigned char ch = static_cast<unsigned char>(t[i]);
        Utf8Char c = ch < 0x80 ? Utf8Char{ch, 1, true} : utf8_next(v, i);
        if (is_whitespace(c.cp)) {
          if (word < i) out.push_back({word, i, -1});
          word = i + c.len;
        } else if (is_bert_punctuation(c.cp)) {
          if (word < i) out.push_back({word, i, -1});
          out.push_back({i, i + c.len, -1});
          word = i + c.len;
        }
        i += c.len;
      }
      if (word < e) out.push_back({word, e, -1});
    });
  }
  json to_json() const override { return {{"type", "BertPreTokenizer"}}; }
};

class CharSplit : public PreTokenizer {
 public:
  enum Kind { kWhitespaceSplit, kPunctuation, kDigits, kDelimiter };
  CharSplit(Kind kind, SplitBehavior behavior, bool flag = false, char32_t delim = 0)
      : kind_(kind), behavior_(behavior), flag_(flag), delim_(delim) {}
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    switch (kind_) {
      case kWhitespaceSplit:
        split_chars(pt, sc, is_whitespace, behavior_);
        break;
      case kPunctuation:
        split_chars(pt, sc, is_bert_punctuation, behavior_);
        break;
      case kDigits:
        split_chars(pt, sc, is_numeric, behavior_);
        break;
      case kDelimiter:
        split_chars(
            pt, sc, [d = delim_](char32_t c) { return c == d; }, behavior_);
        break;
    }
  }
  json to_json() const override {
    switch (kind_) {
      case kWhitespaceSplit:
        return {{"type", "WhitespaceSplit"}};
      case kPunctuation:
        return {{"type", "Punctuation"}, {"behavior", behavior_name(behavior_)}};
      case kDigits:
        return {{"type", "Digits"}, {"individual_digits", flag_}};
      case kDelimiter: {
        std::string d;
        utf8_append(d, delim_);
        return {{"type", "CharDelimiterSplit"}, {"delimiter", d}};
      }
    }
    return {};
  }

 private:
  Kind kind_;
  SplitBehavior behavior_;
  bool flag_;
  char32_t delim_;
};

class Whitespace : public PreTokenizer {
 public:
  Whitespace()
      : split_(json{{"Regex", "\\w+|[^\\w\\s]+"}}, "\\w+|[^\\w\\s]+", SplitBehavior::kRemoved, true,
               "Whitespace") {}
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override { split_.pre_tokenize(pt, sc); }
  json to_json() const override { return {{"type", "Whitespace"}}; }

 private:
  RegexSplit split_;
};

class Metaspace : public PreTokenizer {
 public:
  enum Prepend { kAlways, kFirst, kNever };
  Metaspace(char32_t replacement, Prepend prepend, bool split, bool legacy)
      : replacement_(replacement), prepend_(prepend), split_(split), legacy_(legacy) {
    utf8_append(rep_, replacement_);
  }
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    edit_splits(pt, sc, [&](const NormalizedString& src, Split s, NormalizedString& out) {
      const std::string& t = src.text();
      bool starts_rep = t.compare(s.begin, rep_.size(), rep_) == 0 || t[s.begin] == ' ';
      bool add = prepend_ == kAlways || (prepend_ == kFirst && src.orig_begin(s.begin) == 0);
      if (add && !starts_rep && s.end > s.begin) {
        uint32_t first = utf8_next(t, s.begin).len;
        out.append(rep_, src.orig_begin(s.begin), src.orig_end(s.begin + first - 1));
      }
      for (uint32_t i = s.begin; i < s.end; ++i) {
        if (t[i] == ' ') {
          out.append(rep_, src.orig_begin(i), src.orig_end(i));
        } else {
          out.append_from(src, i, i + 1);
        }
      }
    });
    if (split_) {
      split_chars(
          pt, sc, [r = replacement_](char32_t c) { return c == r; },
          SplitBehavior::kMergedWithNext);
    }
  }
  json to_json() const override {
    json j = {{"type", "Metaspace"}, {"replacement", rep_}, {"split", split_}};
    if (legacy_) {
      j["add_prefix_space"] = prepend_ != kNever;
    } else {
      j["prepend_scheme"] = prepend_ == kAlways ? "always" : prepend_ == kFirst ? "first" : "never";
    }
    return j;
  }

 private:
  char32_t replacement_;
  std::string rep_;
  Prepend prepend_;
  bool split_, legacy_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void pre_tokenize(PreTokenized& pt, Scratch& sc) const override {
    for (const auto& p : parts_) p->pre_tokenize(pt, sc);
  }
  bool byte_level() const override {
    for (const auto& p : parts_)
      if (p->byte_level()) return true;
    return false;
  }
  json to_json() const override {
    json arr = json::array();
    for (const auto& p : parts_) arr.push_back(p->to_json());
    return {{"type", "Sequence"}, {"pretokenizers", arr}};
  }
  std::string summary() const override {
    std::string s = "Sequence[";
    for (size_t i = 0; i < parts_.size(); ++i) s += (i ? ", " : "") + parts_[i]->summary();
    return s + "]";
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

char32_t single_char(const JsonNode& j) {
  std::string s = j.str();
  if (s.empty()) j.fail("a one-character string");
  Utf8Char c = utf8_next(s, 0);
  if (c.len != s.size() || !c.valid) j.fail("a one-character string");
  return c.cp;
}

std::unique_ptr<PreTokenizer> split_from_json(const JsonNode& j) {
  JsonNode p = j.at("pattern");
  auto [text, is_regex] = read_pattern(p);
  return std::make_unique<RegexSplit>(p.raw(), is_regex ? text : regex_escape(text),
                                      behavior_from_json(j.at("behavior")),
                                      j.bool_or("invert", false), j.file() + ": field " + p.path());
}

// prepend_scheme wins over the legacy add_prefix_space (kept so to_json writes it back).
std::unique_ptr<PreTokenizer> metaspace_from_json(const JsonNode& j) {
  char32_t rep = j.has("replacement") ? single_char(j.at("replacement")) : U'\u2581';
  Metaspace::Prepend prepend = Metaspace::kAlways;
  bool legacy = false;
  if (auto ps = j.find("prepend_scheme")) {
    std::string s = ps->str();
    if (s == "always")
      prepend = Metaspace::kAlways;
    else if (s == "first")
      prepend = Metaspace::kFirst;
    else if (s == "never")
      prepend = Metaspace::kNever;
    else
      ps->fail("one of always, first, never");
  } else if (auto ap = j.find("add_prefix_space")) {
    legacy = true;
    prepend = ap->boolean() ? Metaspace::kAlways : Metaspace::kNever;
  }
  return std::make_unique<Metaspace>(rep, prepend, j.bool_or("split", true), legacy);
}

}  // namespace

std::unique_ptr<PreTokenizer> make_byte_level_pre_tokenizer(bool add_prefix_space,
                                                            bool trim_offsets, bool use_regex) {
  return std::make_unique<ByteLevel>(add_prefix_space, trim_offsets, use_regex);
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() {
  return std::make_unique<BertPreTokenizer>();
}

std::unique_ptr<PreTokenizer> pre_tokenizer_from_json(const JsonNode& j) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").str();
  if (type == "ByteLevel") {
    return make_byte_level_pre_tokenizer(j.bool_or("add_prefix_space", true),
                                         j.bool_or("trim_offsets", true),
                                         j.bool_or("use_regex", true));
  }
  if (type == "Split") return split_from_json(j);
  if (type == "Sequence") {
    JsonNode arr = j.at("pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto p = pre_tokenizer_from_json(arr.index(i));
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequencePre>(std::move(parts));
  }
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "Whitespace") return std::make_unique<Whitespace>();
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharSplit>(CharSplit::kWhitespaceSplit, SplitBehavior::kRemoved);
  }
  if (type == "Punctuation") {
    auto b = j.find("behavior");
    return std::make_unique<CharSplit>(CharSplit::kPunctuation,
                                       b ? behavior_from_json(*b) : SplitBehavior::kIsolated);
  }
  if (type == "Digits") {
    bool individual = j.bool_or("individual_digits", false);
    return std::make_unique<CharSplit>(
        CharSplit::kDigits, individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous,
        individual);
  }
  if (type == "CharDelimiterSplit") {
    return std::make_unique<CharSplit>(CharSplit::kDelimiter, SplitBehavior::kRemoved, false,
                                       single_char(j.at("delimiter")));
  }
  if (type == "Metaspace") return metaspace_from_json(j);
  j.at("type").fail(
      "a supported pre-tokenizer type (ByteLevel, Split, Sequence, BertPreTokenizer, Whitespace, "
      "WhitespaceSplit, Punctuation, Digits, CharDelimiterSplit, Metaspace)");
}

}  // namespace loom::text
