// Internals of chat_template.*: operations on jinja::Value with Python's semantics. They throw
// EvalError (no position); the evaluator adds the template offset and turns it into loom::Error.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "text/chat_template_ast.h"

namespace loom::text::jinja {

struct EvalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const char* kind_name(const Value& v);
bool truthy(const Value& v);
bool is_number(const Value& v);  // int or bool (Python's bool is an int)
int64_t as_int(const Value& v);
std::string to_str(const Value& v);  // str(v); undefined -> ""
bool equals(const Value& a, const Value& b);
bool less(const Value& a, const Value& b);
bool contains(const Value& hay, const Value& needle);
const Value* dict_find(const Dict& d, const std::string& key);
std::vector<size_t> code_points(const std::string& s);
int64_t length(const Value& v);

Value arith(const std::string& op, const Value& a, const Value& b);  // + - * // % ** (and /)
Value get_item(const Value& obj, const Value& key);                  // obj[key], obj.key
Value slice(const Value& obj, const Value* start, const Value* stop, const Value* step);
Value call_method(const std::string& name, const Value& self, const std::vector<Value>& args);
Value apply_filter(const std::string& name, const Value& v, const std::vector<Value>& args);
bool apply_test(const std::string& name, const Value& v);

}  // namespace loom::text::jinja
