// Instruction and preference JSONL -> token ids with labels on the response tokens
// (rules in sft_data.h).
#include "train/sft_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::train {
namespace {

// A malformed line: a message to be prefixed with "name:LINE: ".
struct LineError {
  std::string what;
};

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

std::string get_string(const nlohmann::json& obj, const char* key, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) throw LineError{std::string("missing field \"") + key + "\""};
    return "";
  }
  if (!it->is_string()) throw LineError{std::string("field \"") + key + "\": expected a string"};
  return it->get<std::string>();
}

// A string, or a non-empty list of strings (joined by `sep`, or the first when sep is null).
std::string string_or_list(const nlohmann::json& obj, const char* key, const char* sep) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return get_string(obj, key);
  if (it->empty()) throw LineError{std::string("field \"") + key + "\": empty list"};
  std::string out;
  for (size_t k = 0; k < it->size(); ++k) {
    if (!(*it)[k].is_string())
      throw LineError{std::string("field \"") + key + "\": expected a list of strings"};
    if (k > 0 && !sep) break;
    if (k > 0) out += sep;
    out += (*it)[k].get<std::string>();
  }
  return out;
}

std::vector<TextSegment> natural_instructions(const nlohmann::json& j) {
  std::string prompt = "Definition: " + string_or_list(j, "definition", "\n") + "\n\n";
  auto ex = j.find("positive_examples");
  if (ex != j.end() && !ex->is_null()) {
    if (!ex->is_array()) throw LineError{"field \"positive_examples\": expected a list"};
    for (const auto& e : *ex) {
      if (!e.is_object())
        throw LineError{"field \"positive_examples\": expected objects with input and output"};
      prompt +=
          "Input: " + get_string(e, "input") + "\nOutput: " + get_string(e, "output") + "\n\n";
    }
  }
  prompt += "Input: " + get_string(j, "input") + "\nOutput:";
  return {{prompt, false}, {" " + string_or_list(j, "output", nullptr), true}};
}

std::string role_of(const std::string& r) {
  if (r == "system" || r == "user" || r == "assistant") return r;
  if (r == "human") return "user";
  if (r == "gpt") return "assistant";
  throw LineError{"unknown role \"" + r + "\" (expected system, user or assistant; " +
                  "ShareGPT's human, gpt)"};
}

std::vector<text::ChatMessage> chat_messages(const nlohmann::json& j) {
  const bool sharegpt = !j.contains("messages");
  const char* key = sharegpt ? "conversations" : "messages";
  const nlohmann::json& list = j[key];
  if (!list.is_array() || list.empty())
    throw LineError{std::string("field \"") + key + "\": expected a non-empty list"};
  std::vector<text::ChatMessage> out;
  for (size_t k = 0; k < list.size(); ++k) {
    if (!list[k].is_object())
      throw LineError{std::string(key) + "[" + std::to_string(k) + "]: expected an object"};
    try {
      out.push_back({role_of(get_string(list[k], sharegpt ? "from" : "role")),
                     get_string(list[k], sharegpt ? "value" : "content")});
    } catch (const LineError& e) {
      throw LineError{std::string(key) + "[" + std::to_string(k) + "]: " + e.what};
    }
  }
  if (std::none_of(out.begin(), out.end(), [](const auto& m) { return m.role == "assistant"; }))
    throw LineError{"no assistant message to train on"};
  return out;
}

// Right truncation to max_len, then at least one trained token at position >= 1.
void fit(SftExample& e, int64_t max_len) {
  const size_t keep = max_len > 0 ? std::min<size_t>(e.ids.size(), max_len) : e.ids.size();
  bool any = false;
  for (size_t i = 1; i < keep; ++i) any = any || e.labels[i] != kIgnoreLabel;
  if (!any) {
    const auto first = std::find_if(e.labels.begin() + (e.labels.empty() ? 0 : 1), e.labels.end(),
                                    [](int32_t l) { return l != kIgnoreLabel; });
    if (first == e.labels.end()) throw LineError{"no response token to train on"};
    throw LineError{"the prompt is " + std::to_string(first - e.labels.begin()) +
                    " tokens: no response token within the first " + std::to_string(max_len) +
                    " (the sequence length)"};
  }
  e.ids.resize(keep);
  e.labels.resize(keep);
}

template <typename Fn>
void for_each_line(const std::string& text, const std::string& name, Fn fn) {
  size_t pos = 0;
  int64_t no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        throw LineError{"not valid JSON (expected one object per line)"};
      }
      if (!j.is_object()) throw LineError{"expected a JSON object"};
      fn(j, no);
    } catch (const LineError& e) {
      throw Error(name + ":" + std::to_string(no) + ": " + e.what);
    } catch (const Error& e) {  // the chat template's own errors
      throw Error(name + ":" + std::to_string(no) + ": " + e.what());
    }
  }
}

// Rendering of messages[0, k) (k may be 0: the empty prefix).
std::string render_prefix(const std::vector<text::ChatMessage>& m, size_t k,
                          const text::ChatTemplate& t, const text::ChatTokens& tok, bool agp) {
  if (k == 0 && agp) return "";
  return t.render(std::vector<text::ChatMessage>(m.begin(), m.begin() + k), agp, tok);
}

SftExample build(const nlohmann::json& j, int64_t line, const SftDataOptions& o) {
  SftExample e;
  if (j.contains("messages") || j.contains("conversations")) {
    const std::vector<text::ChatMessage> messages = chat_messages(j);
    if (!o.chat_template) throw LineError{"a chat needs a chat template (none was given)"};
    e = label_segments(chat_segments(messages, *o.chat_template, o.tokens), *o.tokenizer, false,
                       false);
  } else if (j.contains("definition")) {
    e = label_segments(natural_instructions(j), *o.tokenizer, true, true);
  } else if (j.contains("prompt") && j.contains("completion")) {
    e = label_segments({{get_string(j, "prompt"), false}, {get_string(j, "completion"), true}},
                       *o.tokenizer, true, true);
  } else {
    throw LineError{
        "unknown format: expected \"prompt\"+\"completion\", \"definition\" "
        "(NaturalInstructions), \"messages\" or \"conversations\""};
  }
  fit(e, o.max_len);
  e.line = line;
  return e;
}

SftExample build_response(const std::string& prompt, const std::string& response, int64_t line,
                          const SftDataOptions& o) {
  SftExample e;
  if (o.chat_template) {
    const std::vector<text::ChatMessage> m = {{"user", prompt}, {"assistant", response}};
    e = label_segments(chat_segments(m, *o.chat_template, o.tokens), *o.tokenizer, false, false);
  } else {
    e = label_segments({{prompt, false}, {response, true}}, *o.tokenizer, true, true);
  }
  fit(e, o.max_len);
  e.line = line;
  return e;
}

}  // namespace

SftExample label_segments(const std::vector<TextSegment>& segments, const text::Tokenizer& tok,
                          bool add_special, bool append_eos) {
  std::string full;
  for (const auto& s : segments) full += s.text;
  SftExample e;
  tok.encode_ids(full, add_special, e.ids);
  e.labels.assign(e.ids.size(), kIgnoreLabel);
  std::vector<int32_t> prefix;
  size_t end_bytes = 0, begin_tok = 0;
  for (size_t k = 0; k < segments.size(); ++k) {
    end_bytes += segments[k].text.size();
    size_t end_tok = e.ids.size();
    if (k + 1 < segments.size()) {
      tok.encode_ids(std::string_view(full).substr(0, end_bytes), add_special, prefix);
      end_tok = std::max(begin_tok, common_prefix(prefix, e.ids));
    }
    if (segments[k].trained)
      for (size_t i = begin_tok; i < end_tok; ++i) e.labels[i] = e.ids[i];
    begin_tok = end_tok;
  }
  if (append_eos && tok.eos_id() >= 0 && !segments.empty() && segments.back().trained) {
    e.ids.push_back(tok.eos_id());
    e.labels.push_back(tok.eos_id());
  }
  return e;
}

std::vector<TextSegment> chat_segments(const std::vector<text::ChatMessage>& m,
                                       const text::ChatTemplate& t, const text::ChatTokens& tok) {
  const std::string full = t.render(m, false, tok);
  std::vector<TextSegment> out;
  size_t done = 0;  // bytes of `full` already in segments
  for (size_t k = 0; k < m.size(); ++k) {
    if (m[k].role != "assistant") continue;
    const std::string before = render_prefix(m, k, t, tok, true);
    const std::string after = render_prefix(m, k + 1, t, tok, false);
    if (full.compare(0, before.size(), before) != 0 || full.compare(0, after.size(), after) != 0 ||
        before.size() < done || after.size() < before.size())
      throw LineError{"the chat template does not render the conversation up to message " +
                      std::to_string(k + 1) + " as a prefix of the whole conversation, so " +
                      "its assistant tokens cannot be found"};
    out.push_back({full.substr(done, before.size() - done), false});
    out.push_back({full.substr(before.size(), after.size() - before.size()), true});
    done = after.size();
  }
  out.push_back({full.substr(done), false});
  return out;
}

std::vector<SftExample> parse_sft_jsonl(const std::string& text, const std::string& name,
                                        const SftDataOptions& o) {
  LOOM_ASSERT(o.tokenizer != nullptr);
  std::vector<SftExample> out;
  for_each_line(text, name, [&](const nlohmann::json& j, int64_t no) {
    if (j.contains("chosen") || j.contains("rejected"))
      throw LineError{"a preference pair (chosen/rejected) in instruction data"};
    out.push_back(build(j, no, o));
  });
  if (out.empty()) throw Error(name + ": no example (expected JSONL objects, one per line)");
  return out;
}

std::vector<PreferenceExample> parse_preference_jsonl(const std::string& text,
                                                      const std::string& name,
                                                      const SftDataOptions& o) {
  LOOM_ASSERT(o.tokenizer != nullptr);
  std::vector<PreferenceExample> out;
  for_each_line(text, name, [&](const nlohmann::json& j, int64_t no) {
    const std::string prompt = get_string(j, "prompt");
    const std::string chosen = get_string(j, "chosen"), rejected = get_string(j, "rejected");
    if (chosen == rejected) throw LineError{"\"chosen\" equals \"rejected\" (nothing to prefer)"};
    if (chosen.empty() || rejected.empty()) throw LineError{"empty \"chosen\" or \"rejected\""};
    out.push_back(
        {build_response(prompt, chosen, no, o), build_response(prompt, rejected, no, o), no});
  });
  if (out.empty()) throw Error(name + ": no preference pair (expected JSONL objects)");
  return out;
}

std::vector<SftExample> read_sft_jsonl(const std::string& path, const SftDataOptions& o) {
  return parse_sft_jsonl(read_file(path), path, o);
}

std::vector<PreferenceExample> read_preference_jsonl(const std::string& path,
                                                     const SftDataOptions& o) {
  return parse_preference_jsonl(read_file(path), path, o);
}

std::vector<int32_t> shift_labels(const std::vector<int32_t>& labels) {
  std::vector<int32_t> t(labels.size(), kIgnoreLabel);
  for (size_t i = 0; i + 1 < labels.size(); ++i) t[i] = labels[i + 1];
  return t;
}

}  // namespace loom::train
