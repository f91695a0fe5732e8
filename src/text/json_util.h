// Checked access into parsed JSON: every failure names the file, the field as a JSON-pointer
// path, and what was expected.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/lines.h"

namespace loom::text {

class JsonNode {
 public:
  JsonNode(const nlohmann::json& j, const std::string& file, std::string path = "")
      : j_(&j), file_(&file), path_(std::move(path)) {}

  const nlohmann::json& raw() const { return *j_; }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  bool is_null() const { return j_->is_null(); }
  bool is_object() const { return j_->is_object(); }
  bool is_array() const { return j_->is_array(); }
  bool is_string() const { return j_->is_string(); }
  bool has(const char* key) const { return j_->is_object() && j_->contains(key); }

  [[noreturn]] void fail(const std::string& expected) const {
    throw Error(*file_ + ": field " + (path_.empty() ? "/" : path_) + ": expected " + expected +
                ", got " + describe());
  }

  // Required member of an object.
  JsonNode at(const char* key) const {
    if (!j_->is_object()) fail(std::string("an object with \"") + key + "\"");
    auto it = j_->find(key);
    if (it == j_->end()) {
      throw Error(*file_ + ": field " + path_ + "/" + key + ": missing (expected " +
                  "it in this object)");
    }
    return JsonNode(*it, *file_, path_ + "/" + key);
  }
  // Optional member; nullopt when absent or null.
  std::optional<JsonNode> find(const char* key) const {
    if (!j_->is_object()) fail(std::string("an object"));
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return std::nullopt;
    return JsonNode(*it, *file_, path_ + "/" + key);
  }
  JsonNode index(size_t i) const {
    if (!j_->is_array() || i >= j_->size()) fail("an array with index " + std::to_string(i));
    return JsonNode((*j_)[i], *file_, path_ + "/" + std::to_string(i));
  }
  size_t size() const {
    if (!j_->is_array()) fail("an array");
    return j_->size();
  }

  std::string str() const {
    if (!j_->is_string()) fail("a string");
    return j_->get<std::string>();
  }
  const std::string& str_ref() const {
    if (!j_->is_string()) fail("a string");
    return j_->get_ref<const std::string&>();
  }
  bool boolean() const {
    if (!j_->is_boolean()) fail("true or false");
    return j_->get<bool>();
  }
  int64_t integer(int64_t lo = INT32_MIN, int64_t hi = INT32_MAX) const {
    if (!j_->is_number_integer()) fail("an integer");
    int64_t v = j_->get<int64_t>();
    if (v < lo || v > hi) {
      fail("an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return v;
  }
  double number() const {
    if (!j_->is_number()) fail("a number");
    return j_->get<double>();
  }

  // Optional typed members with defaults.
  std::string str_or(const char* key, const std::string& def) const {
    auto n = find(key);
    return n ? n->str() : def;
  }
  bool bool_or(const char* key, bool def) const {
    auto n = find(key);
    return n ? n->boolean() : def;
  }
  int64_t int_or(const char* key, int64_t def) const {
    auto n = find(key);
    return n ? n->integer() : def;
  }

 private:
  std::string describe() const {
    switch (j_->type()) {
      case nlohmann::json::value_t::null:
        return "null";
      case nlohmann::json::value_t::object:
        return "an object";
      case nlohmann::json::value_t::array:
        return "an array";
      case nlohmann::json::value_t::string:
        return "a string";
      case nlohmann::json::value_t::boolean:
        return "a boolean";
      case nlohmann::json::value_t::number_float:
        return "a float";
      default:
        return "a number";
    }
  }

  const nlohmann::json* j_;
  const std::string* file_;
  std::string path_;
};

// {"token": id, ...} in id order. Appends to the ordered object's storage directly: its own
// insert searches linearly, which is quadratic for a 128k vocabulary.
inline nlohmann::ordered_json vocab_to_json(const std::vector<std::string>& vocab) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  auto& obj = j.get_ref<nlohmann::ordered_json::object_t&>();
  using Base = std::vector<std::pair<const std::string, nlohmann::ordered_json>>;
  Base& items = obj;
  items.reserve(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    if (!vocab[i].empty()) items.emplace_back(vocab[i], nlohmann::ordered_json(i));
  }
  return j;
}

// JSON Lines: fn(value, "name:line") for each non-blank line; a line that is not JSON is an Error
// naming name:line and saying one `what` object per line was expected.
template <typename Fn>
void for_each_jsonl(std::string_view text, const std::string& name, const char* what, Fn&& fn) {
  for_each_nonblank_line(text, [&](std::string_view line, size_t line_no) {
    const std::string where = name + ":" + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": not valid JSON (expected one " + what + " object per line)");
    }
    fn(j, where);
  });
}

}  // namespace loom::text
