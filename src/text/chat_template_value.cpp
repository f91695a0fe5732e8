// Values of the chat-template Jinja subset with Python's semantics: truthiness, str(), ==, <,
// + - * // % **, `in`, and the string operations chat templates call (strip, length, slices),
// which count code points of UTF-8 text as Python's str does.
#include "text/chat_template_value.h"

#include <algorithm>

#include "core/error.h"

namespace loom::text::jinja {

const char* kind_name(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
      return "undefined";
    case Value::None:
      return "none";
    case Value::Bool:
      return "bool";
    case Value::Int:
      return "int";
    case Value::Str:
      return "string";
    case Value::ListK:
      return "list";
    case Value::DictK:
      return "dict";
  }
  return "?";
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
    case Value::None:
      return false;
    case Value::Bool:
      return v.b;
    case Value::Int:
      return v.i != 0;
    case Value::Str:
      return !v.s.empty();
    case Value::ListK:
      return !v.list->empty();
    case Value::DictK:
      return !v.dict->empty();
  }
  return false;
}

std::string to_str(const Value& v) {
  switch (v.kind) {
    case Value::Undefined:
      return "";
    case Value::None:
      return "None";
    case Value::Bool:
      return v.b ? "True" : "False";
    case Value::Int:
      return std::to_string(v.i);
    case Value::Str:
      return v.s;
    default:
      throw EvalError(std::string("turning a ") + kind_name(v) +
                      " into text (Python's repr) is not supported");
  }
}

bool is_number(const Value& v) { return v.kind == Value::Int || v.kind == Value::Bool; }
int64_t as_int(const Value& v) { return v.kind == Value::Bool ? (v.b ? 1 : 0) : v.i; }

bool equals(const Value& a, const Value& b) {
  if (is_number(a) && is_number(b)) return as_int(a) == as_int(b);
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Str:
      return a.s == b.s;
    case Value::ListK:
      return a.list->size() == b.list->size() &&
             std::equal(a.list->begin(), a.list->end(), b.list->begin(), equals);
    case Value::DictK: {
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict) {
        const Value* w = dict_find(*b.dict, k);
        if (!w || !equals(v, *w)) return false;
      }
      return true;
    }
    default:
      return true;  // None == None, Undefined == Undefined
  }
}

// a < b for numbers and strings (UTF-8 byte order is code point order).
bool less(const Value& a, const Value& b) {
  if (is_number(a) && is_number(b)) return as_int(a) < as_int(b);
  if (a.kind == Value::Str && b.kind == Value::Str) return a.s < b.s;
  throw EvalError(std::string("cannot order a ") + kind_name(a) + " and a " + kind_name(b));
}

const Value* dict_find(const Dict& d, const std::string& key) {
  for (const auto& [k, v] : d)
    if (k == key) return &v;
  return nullptr;
}

bool contains(const Value& hay, const Value& needle) {
  if (hay.kind == Value::Str) {
    if (needle.kind != Value::Str) throw EvalError("'in <string>' needs a string on the left");
    return hay.s.find(needle.s) != std::string::npos;
  }
  if (hay.kind == Value::ListK)
    return std::any_of(hay.list->begin(), hay.list->end(),
                       [&](const Value& x) { return equals(x, needle); });
  if (hay.kind == Value::DictK)
    return needle.kind == Value::Str && dict_find(*hay.dict, needle.s) != nullptr;
  throw EvalError(std::string("'in' on a ") + kind_name(hay));
}

// Byte offsets where each code point of s starts, plus s.size() (a stray byte counts as one).
std::vector<size_t> code_points(const std::string& s) {
  std::vector<size_t> at;
  for (size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 || at.empty()) at.push_back(i);
  at.push_back(s.size());
  return at;
}

int64_t length(const Value& v) {
  switch (v.kind) {
    case Value::Str:
      return static_cast<int64_t>(code_points(v.s).size()) - 1;
    case Value::ListK:
      return static_cast<int64_t>(v.list->size());
    case Value::DictK:
      return static_cast<int64_t>(v.dict->size());
    default:
      throw EvalError(std::string("length of a ") + kind_name(v));
  }
}

}  // namespace loom::text::jinja
