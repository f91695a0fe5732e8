#include "text/post_processors.h"

#include "core/error.h"
#include "text/unicode.h"

namespace loom::text {

using json = nlohmann::ordered_json;

std::string PostProcessor::summary() const { return to_json().value("type", "?"); }

namespace {

void push_special(Encoding& e, int32_t id, uint8_t type_id) {
  e.ids.push_back(id);
  e.offsets.push_back({0, 0});
  e.type_ids.push_back(type_id);
  e.special_mask.push_back(1);
  e.sequence_ids.push_back(-1);
}

void push_sequence(Encoding& e, const Encoding& s, uint8_t type_id) {
  size_t n0 = e.ids.size();
  e.append(s);
  for (size_t i = n0; i < e.ids.size(); ++i) e.type_ids[i] = type_id;
}

// Narrows each token's offsets to exclude surrounding whitespace of the input (what
// trim_offsets does for byte-level tokens that carry a leading space).
void trim_offsets(Encoding& e, std::string_view text, int8_t seq) {
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.sequence_ids[i] != seq) continue;
    Offset& o = e.offsets[i];
    uint32_t b = o.begin, en = o.end;
    while (b < en && b < text.size() && is_whitespace(static_cast<unsigned char>(text[b])) &&
           static_cast<unsigned char>(text[b]) < 0x80)
      ++b;
    while (en > b && en <= text.size() && static_cast<unsigned char>(text[en - 1]) < 0x80 &&
           is_whitespace(static_cast<unsigned char>(text[en - 1])))
      --en;
    o = {b, en};
  }
}

struct Piece {
  bool is_special;
  std::string id;  // special token name, or "A"/"B"
  uint8_t type_id;
};

class Template : public PostProcessor {
 public:
  Template(std::vector<Piece> single, std::vector<Piece> pair,
           std::vector<std::pair<std::string, std::vector<int32_t>>> specials,
           std::vector<std::vector<std::string>> special_tokens)
      : single_(std::move(single)),
        pair_(std::move(pair)),
        specials_(std::move(specials)),
        special_tokens_(std::move(special_tokens)) {}

  Encoding process(Encoding a, const Encoding* b, bool add_special, std::string_view,
                   std::string_view) const override {
    if (!add_special) {
      if (b != nullptr) push_sequence(a, *b, 1);
      return a;
    }
    const auto& tpl = b != nullptr ? pair_ : single_;
    Encoding out;
    for (const Piece& p : tpl) {
      if (p.is_special) {
        for (int32_t id : ids_of(p.id)) push_special(out, id, p.type_id);
      } else if (p.id == "A") {
        push_sequence(out, a, p.type_id);
      } else if (b != nullptr) {
        push_sequence(out, *b, p.type_id);
      }
    }
    return out;
  }
  int added_tokens(bool pair) const override {
    int n = 0;
    for (const Piece& p : pair ? pair_ : single_)
      if (p.is_special) n += int(ids_of(p.id).size());
    return n;
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> out;
    for (const auto& s : specials_) out.insert(out.end(), s.second.begin(), s.second.end());
    return out;
  }
  int32_t leading_special() const override {
    if (!single_.empty() && single_.front().is_special) {
      const auto& ids = ids_of(single_.front().id);
      if (!ids.empty()) return ids.front();
    }
    return -1;
  }
  int32_t trailing_special() const override {
    if (!single_.empty() && single_.back().is_special) {
      const auto& ids = ids_of(single_.back().id);
      if (!ids.empty()) return ids.back();
    }
    return -1;
  }
  json to_json() const override {
    auto tpl = [](const std::vector<Piece>& v) {
      json arr = json::array();
      for (const Piece& p : v) {
        json inner = {{"id", p.id}, {"type_id", p.type_id}};
        arr.push_back(json{{p.is_special ? "SpecialToken" : "Sequence", inner}});
      }
      return arr;
    };
    json sp = json::object();
    for (size_t i = 0; i < specials_.size(); ++i) {
      sp[specials_[i].first] = {
          {"id", specials_[i].first}, {"ids", specials_[i].second}, {"tokens", special_tokens_[i]}};
    }
    return {{"type", "TemplateProcessing"},
            {"single", tpl(single_)},
            {"pair", tpl(pair_)},
            {"special_tokens", sp}};
  }
  std::string summary() const override {
    std::string s = "Template(";
    for (size_t i = 0; i < single_.size(); ++i) {
      s += (i ? " " : "") + (single_[i].is_special ? single_[i].id : "$" + single_[i].id);
    }
    return s + ")";
  }

 private:
  const std::vector<int32_t>& ids_of(const std::string& name) const {
    for (const auto& [k, v] : specials_)
      if (k == name) return v;
    static const std::vector<int32_t> kNone;
    return kNone;
  }
  std::vector<Piece> single_, pair_;
  std::vector<std::pair<std::string, std::vector<int32_t>>> specials_;
  std::vector<std::vector<std::string>> special_tokens_;
};

// BertProcessing / RobertaProcessing: fixed templates around (cls, sep).
class ClsSep : public PostProcessor {
 public:
  ClsSep(bool roberta, std::string sep, int32_t sep_id, std::string cls, int32_t cls_id, bool trim,
         bool add_prefix_space)
      : roberta_(roberta),
        sep_(std::move(sep)),
        cls_(std::move(cls)),
        sep_id_(sep_id),
        cls_id_(cls_id),
        trim_(trim),
        add_prefix_space_(add_prefix_space) {}
  Encoding process(Encoding a, const Encoding* b, bool add_special, std::string_view ta,
                   std::string_view tb) const override {
    if (roberta_ && trim_) {
      trim_offsets(a, ta, 0);
    }
    Encoding bb;
    if (b != nullptr) {
      bb = *b;
      if (roberta_ && trim_) trim_offsets(bb, tb, 1);
    }
    if (!add_special) {
      if (b != nullptr) push_sequence(a, bb, roberta_ ? 0 : 1);
      return a;
    }
    Encoding out;
    push_special(out, cls_id_, 0);
    push_sequence(out, a, 0);
    push_special(out, sep_id_, 0);
    if (b != nullptr) {
      uint8_t t = roberta_ ? 0 : 1;
      if (roberta_) push_special(out, sep_id_, t);
      push_sequence(out, bb, t);
      push_special(out, sep_id_, t);
    }
    return out;
  }
  int added_tokens(bool pair) const override { return pair ? (roberta_ ? 4 : 3) : 2; }
  std::vector<int32_t> special_ids() const override { return {cls_id_, sep_id_}; }
  int32_t leading_special() const override { return cls_id_; }
  int32_t trailing_special() const override { return sep_id_; }
  json to_json() const override {
    json j = {{"type", roberta_ ? "RobertaProcessing" : "BertProcessing"},
              {"sep", json::array({sep_, sep_id_})},
              {"cls", json::array({cls_, cls_id_})}};
    if (roberta_) {
      j["trim_offsets"] = trim_;
      j["add_prefix_space"] = add_prefix_space_;
    }
    return j;
  }

 private:
  bool roberta_;
  std::string sep_, cls_;
  int32_t sep_id_, cls_id_;
  bool trim_, add_prefix_space_;
};

class ByteLevelPost : public PostProcessor {
 public:
  ByteLevelPost(bool trim, bool add_prefix_space, bool use_regex)
      : trim_(trim), add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  Encoding process(Encoding a, const Encoding* b, bool, std::string_view ta,
                   std::string_view tb) const override {
    if (trim_) trim_offsets(a, ta, 0);
    if (b != nullptr) {
      Encoding bb = *b;
      if (trim_) trim_offsets(bb, tb, 1);
      push_sequence(a, bb, 1);
    }
    return a;
  }
  int added_tokens(bool) const override { return 0; }
  json to_json() const override {
    return {{"type", "ByteLevel"},
            {"add_prefix_space", add_prefix_space_},
            {"trim_offsets", trim_},
            {"use_regex", use_regex_}};
  }

 private:
  bool trim_, add_prefix_space_, use_regex_;
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> parts)
      : parts_(std::move(parts)) {}
  Encoding process(Encoding a, const Encoding* b, bool add_special, std::string_view ta,
                   std::string_view tb) const override {
    // Like Hugging Face: the pair is merged by the first processor, later ones see one encoding.
    for (size_t i = 0; i < parts_.size(); ++i) {
      a = parts_[i]->process(std::move(a), i == 0 ? b : nullptr, add_special, ta, tb);
    }
    return a;
  }
  int added_tokens(bool pair) const override {
    int n = 0;
    for (const auto& p : parts_) n += p->added_tokens(pair);
    return n;
  }
  std::vector<int32_t> special_ids() const override {
    std::vector<int32_t> out;
    for (const auto& p : parts_) {
      auto ids = p->special_ids();
      out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
  }
  int32_t leading_special() const override {
    for (const auto& p : parts_)
      if (p->leading_special() >= 0) return p->leading_special();
    return -1;
  }
  int32_t trailing_special() const override {
    for (const auto& p : parts_)
      if (p->trailing_special() >= 0) return p->trailing_special();
    return -1;
  }
  json to_json() const override {
    json arr = json::array();
    for (const auto& p : parts_) arr.push_back(p->to_json());
    return {{"type", "Sequence"}, {"processors", arr}};
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::vector<Piece> read_template(const JsonNode& arr) {
  std::vector<Piece> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    JsonNode p = arr.index(i);
    if (p.has("SpecialToken")) {
      JsonNode s = p.at("SpecialToken");
      out.push_back({true, s.at("id").str(), uint8_t(s.int_or("type_id", 0))});
    } else if (p.has("Sequence")) {
      JsonNode s = p.at("Sequence");
      std::string id = s.at("id").str();
      if (id != "A" && id != "B") s.at("id").fail("\"A\" or \"B\"");
      out.push_back({false, id, uint8_t(s.int_or("type_id", 0))});
    } else {
      p.fail("{\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return out;
}

std::pair<std::string, int32_t> read_token_pair(const JsonNode& j) {
  if (j.size() != 2) j.fail("a [token, id] pair");
  return {j.index(0).str(), int32_t(j.index(1).integer(0, INT32_MAX))};
}

// "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]}, ...} as
// (name, ids) pairs and the tokens of each, in file order.
struct TemplateSpecials {
  std::vector<std::pair<std::string, std::vector<int32_t>>> ids;
  std::vector<std::vector<std::string>> tokens;
};

TemplateSpecials read_template_specials(const JsonNode& j) {
  TemplateSpecials out;
  auto sp = j.find("special_tokens");
  if (!sp) return out;
  if (!sp->is_object()) sp->fail("an object of special tokens");
  for (const auto& [key, val] : sp->raw().items()) {
    JsonNode v(val, j.file(), sp->path() + "/" + key);
    JsonNode ids = v.at("ids");
    std::vector<int32_t> id_list;
    for (size_t i = 0; i < ids.size(); ++i) {
      id_list.push_back(int32_t(ids.index(i).integer(0, INT32_MAX)));
    }
    std::vector<std::string> toks;
    if (auto t = v.find("tokens")) {
      for (size_t i = 0; i < t->size(); ++i) toks.push_back(t->index(i).str());
    }
    out.ids.push_back({key, id_list});
    out.tokens.push_back(toks);
  }
  return out;
}

std::unique_ptr<PostProcessor> template_from_json(const JsonNode& j) {
  std::vector<Piece> single = read_template(j.at("single"));
  std::vector<Piece> pair = j.has("pair") ? read_template(j.at("pair")) : single;
  TemplateSpecials specials = read_template_specials(j);
  for (const auto* tpl : {&single, &pair}) {
    for (const Piece& p : *tpl) {
      if (!p.is_special) continue;
      bool known = false;
      for (const auto& s : specials.ids) known |= s.first == p.id;
      if (!known) {
        throw Error(j.file() + ": field " + j.path() + "/special_tokens: missing \"" + p.id +
                    "\" used by the template");
      }
    }
  }
  return std::make_unique<Template>(single, pair, specials.ids, specials.tokens);
}

}  // namespace

std::unique_ptr<PostProcessor> make_bert_template(int32_t cls_id, const std::string& cls,
                                                  int32_t sep_id, const std::string& sep) {
  std::vector<Piece> single = {{true, cls, 0}, {false, "A", 0}, {true, sep, 0}};
  std::vector<Piece> pair = {
      {true, cls, 0}, {false, "A", 0}, {true, sep, 0}, {false, "B", 1}, {true, sep, 1}};
  return std::make_unique<Template>(
      single, pair,
      std::vector<std::pair<std::string, std::vector<int32_t>>>{{cls, {cls_id}}, {sep, {sep_id}}},
      std::vector<std::vector<std::string>>{{cls}, {sep}});
}

std::unique_ptr<PostProcessor> make_byte_level_post_processor(bool trim_offsets) {
  return std::make_unique<ByteLevelPost>(trim_offsets, false, true);
}

std::unique_ptr<PostProcessor> post_processor_from_json(const JsonNode& j,
                                                        const TokenLookup& lookup) {
  if (j.is_null()) return nullptr;
  std::string type = j.at("type").str();
  if (type == "TemplateProcessing") return template_from_json(j);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto [sep, sep_id] = read_token_pair(j.at("sep"));
    auto [cls, cls_id] = read_token_pair(j.at("cls"));
    (void)lookup;
    return std::make_unique<ClsSep>(type == "RobertaProcessing", sep, sep_id, cls, cls_id,
                                    j.bool_or("trim_offsets", true),
                                    j.bool_or("add_prefix_space", true));
  }
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPost>(j.bool_or("trim_offsets", true),
                                           j.bool_or("add_prefix_space", true),
                                           j.bool_or("use_regex", true));
  }
  if (type == "Sequence") {
    JsonNode arr = j.at("processors");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto p = post_processor_from_json(arr.index(i), lookup);
      if (p) parts.push_back(std::move(p));
    }
    return std::make_unique<SequencePost>(std::move(parts));
  }
  j.at("type").fail(
      "a supported post-processor type (TemplateProcessing, BertProcessing, RobertaProcessing, "
      "ByteLevel, Sequence)");
}

}  // namespace loom::text
