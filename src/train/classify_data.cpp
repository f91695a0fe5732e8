// TSV / JSONL classification data -> token ids and labels (rules in classify_data.h).
#include "train/classify_data.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::train {
namespace {

struct LineError {
  std::string what;
};

// The TSV header's column indices of the text and the label.
struct Columns {
  size_t text = 0, label = 0, count = 0;
};

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? tab : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

Columns header_columns(std::string_view line) {
  const auto cols = split_tabs(line);
  Columns c{cols.size(), cols.size(), cols.size()};
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == "sentence" || cols[i] == "text") c.text = i;
    if (cols[i] == "label") c.label = i;
  }
  if (c.text == c.count || c.label == c.count)
    throw LineError{"header: expected the columns \"sentence\" (or \"text\") and \"label\""};
  return c;
}

int32_t parse_label(std::string_view s, int64_t num_labels) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  int64_t v = -1;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const bool ok = ec == std::errc() && end == s.data() + s.size() && v >= 0 &&
                  (num_labels <= 0 || v < num_labels) && v < (1 << 24);
  if (!ok)
    throw LineError{"label \"" + std::string(s) + "\": expected an integer in [0, " +
                    (num_labels > 0 ? std::to_string(num_labels) : std::string("inf")) + ")"};
  return static_cast<int32_t>(v);
}

ClassifyExample encode(std::string_view text, int32_t label, const ClassifyDataOptions& o) {
  if (text.find_first_not_of(" \t\r") == std::string_view::npos) throw LineError{"empty text"};
  ClassifyExample e;
  o.tokenizer->encode_ids(text, true, e.ids);
  if (e.ids.empty()) throw LineError{"the text encodes to no tokens"};
  if (o.max_len > 0 && static_cast<int64_t>(e.ids.size()) > o.max_len) {
    e.ids[static_cast<size_t>(o.max_len - 1)] = e.ids.back();
    e.ids.resize(static_cast<size_t>(o.max_len));
  }
  e.label = label;
  return e;
}

ClassifyExample parse_tsv_line(std::string_view line, const Columns& c,
                               const ClassifyDataOptions& o) {
  const auto cols = split_tabs(line);
  if (cols.size() <= std::max(c.text, c.label))
    throw LineError{"expected " + std::to_string(c.count) + " tab-separated columns, found " +
                    std::to_string(cols.size())};
  return encode(cols[c.text], parse_label(cols[c.label], o.num_labels), o);
}

ClassifyExample parse_json_line(std::string_view line, const ClassifyDataOptions& o) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw LineError{"expected a JSON object"};
  const auto text = j.find("text"), label = j.find("label");
  if (text == j.end() || !text->is_string()) throw LineError{"missing string field \"text\""};
  if (label == j.end() || !label->is_number_integer())
    throw LineError{"missing integer field \"label\""};
  return encode(text->get<std::string>(),
                parse_label(std::to_string(label->get<int64_t>()), o.num_labels), o);
}

}  // namespace

std::vector<ClassifyExample> parse_classify_data(const std::string& text, const std::string& name,
                                                 bool jsonl, const ClassifyDataOptions& o) {
  if (!o.tokenizer) throw Error(name + ": classification data needs a tokenizer");
  std::vector<ClassifyExample> out;
  Columns cols;
  bool header = !jsonl;
  int64_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      if (header) {
        cols = header_columns(line);
        header = false;
        continue;
      }
      out.push_back(jsonl ? parse_json_line(line, o) : parse_tsv_line(line, cols, o));
      out.back().line = line_no;
    } catch (const LineError& e) {
      throw Error(name + ":" + std::to_string(line_no) + ": " + e.what);
    }
  }
  if (out.empty()) throw Error(name + ":" + std::to_string(line_no) + ": no examples");
  return out;
}

std::vector<ClassifyExample> read_classify_data(const std::string& path,
                                                const ClassifyDataOptions& o) {
  auto ends_with = [&](const std::string& s) {
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return parse_classify_data(read_file(path), path, ends_with(".jsonl") || ends_with(".json"), o);
}

int64_t count_labels(const std::vector<ClassifyExample>& examples) {
  int64_t n = 2;
  for (const ClassifyExample& e : examples) n = std::max<int64_t>(n, e.label + 1);
  return n;
}

}  // namespace loom::train
