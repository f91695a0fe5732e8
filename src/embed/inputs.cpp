#include "embed/inputs.h"

#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::embed {

namespace {

// Calls fn(line, 1-based number) for each line, without its '\n' and a trailing '\r'.
template <typename Fn>
void for_each_line(const std::string& text, Fn fn) {
  size_t pos = 0, no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    fn(line, ++no);
  }
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

}  // namespace

TextItems parse_text_lines(const std::string& text) {
  TextItems out;
  for_each_line(text, [&](std::string_view line, size_t no) {
    if (line.empty()) return;
    out.ids.push_back(std::to_string(no));
    out.texts.emplace_back(line);
  });
  return out;
}

TextItems parse_jsonl_items(const std::string& text, const std::string& name,
                            const JsonlOptions& o) {
  if (o.fields.empty()) throw Error(name + ": no text field named to embed");
  TextItems out;
  std::unordered_set<std::string> seen;
  for_each_line(text, [&](std::string_view line, size_t no) {
    if (blank(line)) return;
    const std::string where = name + ":" + std::to_string(no);
    auto bad = [&](const std::string& what) {
      if (!o.skip_malformed) throw Error(where + ": " + what);
      if (o.issues) o.issues->push_back(where + ": " + what);
    };
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      return bad("not valid JSON (" + std::string(e.what()) + "): expected one object per line");
    }
    if (!j.is_object()) return bad("expected a JSON object");
    std::string id = std::to_string(no);
    if (!o.id_field.empty()) {
      auto it = j.find(o.id_field);
      if (it == j.end()) return bad("field \"" + o.id_field + "\" missing: expected an id");
      if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
        id = it->get<std::string>();
      } else if (it->is_number_integer()) {
        id = it->is_number_unsigned() ? std::to_string(it->get<uint64_t>())
                                      : std::to_string(it->get<int64_t>());
      } else {
        return bad("field \"" + o.id_field + "\": expected a non-empty string or an integer");
      }
    }
    std::string joined;
    for (const auto& f : o.fields) {
      auto it = j.find(f);
      if (it == j.end() || it->is_null()) continue;
      if (!it->is_string()) return bad("field \"" + f + "\": expected a string");
      const auto& s = it->get_ref<const std::string&>();
      if (s.empty()) continue;
      if (!joined.empty()) joined += ' ';
      joined += s;
    }
    if (!seen.insert(id).second) return bad("id \"" + id + "\" appears twice");
    out.ids.push_back(std::move(id));
    out.texts.push_back(std::move(joined));
  });
  return out;
}

TextItems read_items(const std::string& path, bool jsonl, const JsonlOptions& options) {
  const std::string text = read_file(path);
  return jsonl ? parse_jsonl_items(text, path, options) : parse_text_lines(text);
}

}  // namespace loom::embed
