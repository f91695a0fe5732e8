// CoNLL / JSONL tagged sentences -> token ids with first-sub-token labels (token_classify_data.h).
#include "train/token_classify_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/error.h"
#include "core/lines.h"
#include "core/mapped_file.h"
#include "train/objectives.h"

namespace loom::train {
namespace {

struct LineError {
  std::string what;
};

// Space- or tab-separated columns of a CoNLL line (a line with a tab splits on tabs only, so a
// word may hold spaces there).
std::vector<std::string_view> columns(std::string_view line) {
  while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const char* seps = line.find('\t') != std::string_view::npos ? "\t" : " ";
  std::vector<std::string_view> out;
  for (size_t at = 0; at <= line.size();) {
    size_t end = line.find_first_of(seps, at);
    if (end == std::string_view::npos) end = line.size();
    if (end > at) out.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

void check_word(std::string_view word, std::string_view tag) {
  if (word.find_first_not_of(" \t\r") == std::string_view::npos) throw LineError{"empty word"};
  if (tag.empty()) throw LineError{"empty tag"};
}

void add_conll_line(std::string_view line, TaggedSentence& s) {
  const auto cols = columns(line);
  if (cols.size() < 2)
    throw LineError{"expected \"word<TAB>tag\" (2 or more columns), found " +
                    std::to_string(cols.size()) + " column"};
  check_word(cols.front(), cols.back());
  s.words.emplace_back(cols.front());
  s.tags.emplace_back(cols.back());
}

TaggedSentence parse_json_sentence(std::string_view line) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw LineError{"expected a JSON object"};
  auto tags = j.find("tags");
  if (tags == j.end()) tags = j.find("ner_tags");
  const auto words = j.find("tokens");
  if (words == j.end() || !words->is_array() || words->empty())
    throw LineError{"expected a non-empty array \"tokens\""};
  if (tags == j.end() || !tags->is_array() || tags->size() != words->size())
    throw LineError{"expected an array \"tags\" as long as \"tokens\" (" +
                    std::to_string(words->size()) + ")"};
  TaggedSentence s;
  for (size_t i = 0; i < words->size(); ++i) {
    const auto& w = (*words)[i];
    const auto& t = (*tags)[i];
    if (!w.is_string() || !t.is_string())
      throw LineError{"token " + std::to_string(i) + ": expected string word and tag"};
    check_word(w.get_ref<const std::string&>(), t.get_ref<const std::string&>());
    s.words.push_back(w.get<std::string>());
    s.tags.push_back(t.get<std::string>());
  }
  return s;
}

std::vector<TaggedSentence> parse_conll(std::string_view text, const std::string& name) {
  std::vector<TaggedSentence> out;
  TaggedSentence cur;
  size_t prev = 0;
  for_each_nonblank_line(text, [&](std::string_view line, size_t no) {
    if (no != prev + 1 && !cur.words.empty()) out.push_back(std::move(cur)), cur = {};
    prev = no;
    if (line.rfind("-DOCSTART-", 0) == 0) return;
    if (cur.words.empty()) cur.line = static_cast<int64_t>(no);
    try {
      add_conll_line(line, cur);
    } catch (const LineError& e) {
      throw Error(name + ":" + std::to_string(no) + ": " + e.what);
    }
  });
  if (!cur.words.empty()) out.push_back(std::move(cur));
  return out;
}

// The index of the word holding byte b, or -1 (b is a separating space or past the text).
int64_t word_at(const std::vector<uint32_t>& starts, const std::vector<uint32_t>& ends,
                uint32_t b) {
  const auto it = std::upper_bound(starts.begin(), starts.end(), b);
  if (it == starts.begin()) return -1;
  const auto w = static_cast<size_t>(it - starts.begin() - 1);
  return b < ends[w] ? static_cast<int64_t>(w) : -1;
}

ClassifyExample encode_sentence(const TaggedSentence& s, const std::vector<int32_t>& labels,
                                const text::Tokenizer& tok, int64_t max_len) {
  std::string joined;
  std::vector<uint32_t> starts, ends;
  for (const std::string& w : s.words) {
    if (!joined.empty()) joined += ' ';
    starts.push_back(static_cast<uint32_t>(joined.size()));
    joined += w;
    ends.push_back(static_cast<uint32_t>(joined.size()));
  }
  const text::Encoding enc = tok.encode(joined, true);
  ClassifyExample e;
  e.ids = enc.ids;
  e.line = s.line;
  e.tags.assign(e.ids.size(), kIgnoreLabel);
  int64_t last_word = -1;
  for (size_t i = 0; i < enc.ids.size(); ++i) {
    const text::Offset o = enc.offsets[i];
    if (enc.special_mask[i] || o.end <= o.begin) continue;
    const int64_t w = word_at(starts, ends, o.end - 1);  // a token's last byte lies in its word
    if (w < 0 || w == last_word) continue;
    e.tags[i] = labels[static_cast<size_t>(w)];
    last_word = w;
  }
  if (e.ids.empty()) throw LineError{"the sentence encodes to no tokens"};
  if (max_len > 0 && static_cast<int64_t>(e.ids.size()) > max_len) {
    const auto keep = static_cast<size_t>(max_len - 1);
    e.ids[keep] = e.ids.back();
    e.tags[keep] = e.tags.back();
    e.ids.resize(keep + 1);
    e.tags.resize(keep + 1);
  }
  return e;
}

}  // namespace

std::vector<TaggedSentence> parse_tagged_sentences(const std::string& text, const std::string& name,
                                                   bool jsonl) {
  std::vector<TaggedSentence> out;
  size_t last = 0;
  if (jsonl) {
    for_each_nonblank_line(text, [&](std::string_view line, size_t no) {
      try {
        out.push_back(parse_json_sentence(line));
      } catch (const LineError& e) {
        throw Error(name + ":" + std::to_string(no) + ": " + e.what);
      }
      out.back().line = static_cast<int64_t>(no);
    });
  } else {
    out = parse_conll(text, name);
  }
  for_each_nonblank_line(text, [&](std::string_view, size_t no) { last = no; });
  if (out.empty()) throw Error(name + ":" + std::to_string(last) + ": no sentences");
  return out;
}

std::vector<TaggedSentence> read_tagged_sentences(const std::string& path) {
  auto ends_with = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return parse_tagged_sentences(read_file(path), path, ends_with(".jsonl") || ends_with(".json"));
}

std::vector<std::string> tag_names(const std::vector<TaggedSentence>& sentences) {
  std::set<std::string> names;
  for (const TaggedSentence& s : sentences) names.insert(s.tags.begin(), s.tags.end());
  return {names.begin(), names.end()};
}

std::vector<ClassifyExample> encode_tagged(const std::vector<TaggedSentence>& sentences,
                                           const std::vector<std::string>& names,
                                           const text::Tokenizer& tok, int64_t max_len,
                                           const std::string& name) {
  std::vector<ClassifyExample> out;
  std::vector<int32_t> labels;
  for (const TaggedSentence& s : sentences) {
    try {
      labels.clear();
      for (const std::string& t : s.tags) {
        const auto it = std::lower_bound(names.begin(), names.end(), t);
        if (it == names.end() || *it != t)
          throw LineError{"tag \"" + t + "\" is not among the " + std::to_string(names.size()) +
                          " training tags"};
        labels.push_back(static_cast<int32_t>(it - names.begin()));
      }
      out.push_back(encode_sentence(s, labels, tok, max_len));
    } catch (const LineError& e) {
      throw Error(name + ":" + std::to_string(s.line) + ": " + e.what);
    }
  }
  return out;
}

std::vector<std::string> labelled_tags(const std::vector<int32_t>& tags,
                                       const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (int32_t t : tags)
    if (t >= 0 && static_cast<size_t>(t) < names.size())
      out.push_back(names[static_cast<size_t>(t)]);
  return out;
}

}  // namespace loom::train
