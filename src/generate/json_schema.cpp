#include "generate/json_schema.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::generate {

namespace {

using ojson = nlohmann::ordered_json;
using Kind = JsonSchema::Kind;
using Node = JsonSchema::Node;

constexpr int kMaxDepth = 64;

// Keywords that only annotate: they constrain nothing, so ignoring them changes no validity.
bool annotation(const std::string& k) {
  for (const char* a : {"title", "description", "default", "examples", "$comment", "$schema"})
    if (k == a) return true;
  return false;
}

bool supported(const std::string& k) {
  for (const char* s : {"type", "properties", "required", "additionalProperties", "items", "enum",
                        "const", "minItems", "maxItems", "minLength", "maxLength", "anyOf"})
    if (k == s) return true;
  return false;
}

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

bool of_type(const ojson& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_number_integer();
  if (type == "boolean") return v.is_boolean();
  return type == "null" && v.is_null();
}

}  // namespace

// Compiles a schema (nlohmann ordered_json, so properties keep their order) into nodes.
class SchemaParser {
 public:
  explicit SchemaParser(JsonSchema& s) : s_(s) {}
  int32_t parse(const ojson& j, const std::string& path, int depth);

 private:
  int32_t add(Node n) {
    s_.nodes_.push_back(std::move(n));
    return static_cast<int32_t>(s_.nodes_.size() - 1);
  }
  [[noreturn]] static void fail(const std::string& path, const std::string& what) {
    throw Error(path + ": " + what);
  }
  int32_t any_of(const ojson& j, const std::string& path, int depth);
  int32_t literals(const ojson& j, const std::vector<std::string>& types, const std::string& path);
  int32_t typed(const ojson& j, const std::string& type, const std::string& path, int depth);
  int32_t object(const ojson& j, const std::string& path, int depth);
  static void counts(const ojson& j, const char* lo, const char* hi, const std::string& path,
                     Node& n);
  static std::vector<std::string> types(const ojson& j, const std::string& path);

  JsonSchema& s_;
};

std::vector<std::string> SchemaParser::types(const ojson& j, const std::string& path) {
  auto it = j.find("type");
  if (it == j.end()) return {};
  std::vector<std::string> out;
  const ojson list = it->is_array() ? *it : ojson::array({*it});
  for (const ojson& t : list) {
    if (!t.is_string()) fail(path + ".type", "expected a type name, got " + dump(t));
    const std::string name = t.get<std::string>();
    static const char* const kTypes[] = {"object",  "array",   "string", "number",
                                         "integer", "boolean", "null"};
    if (std::find(std::begin(kTypes), std::end(kTypes), name) == std::end(kTypes))
      fail(path + ".type", "unknown type '" + name + "'");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  if (out.empty()) fail(path + ".type", "an empty list of types admits no value");
  return out;
}

int32_t SchemaParser::parse(const ojson& j, const std::string& path, int depth) {
  if (depth > kMaxDepth)
    fail(path, "schemas nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (j.is_boolean()) {
    if (!j.get<bool>()) fail(path, "the schema false admits no value");
    return JsonSchema::kAnyValue;
  }
  if (!j.is_object()) fail(path, "expected a schema (an object), got " + dump(j));
  for (const auto& [key, value] : j.items())
    if (!annotation(key) && !supported(key)) fail(path, "unsupported keyword '" + key + "'");
  if (j.contains("anyOf")) return any_of(j, path, depth);
  const std::vector<std::string> ts = types(j, path);
  if (j.contains("enum") || j.contains("const")) return literals(j, ts, path);
  if (ts.size() > 1) {
    Node n;
    n.kind = Kind::kAnyOf;
    for (const std::string& t : ts) n.alternatives.push_back(typed(j, t, path, depth));
    return add(std::move(n));
  }
  if (!ts.empty()) return typed(j, ts[0], path, depth);
  // No type: the keywords present say which one (a narrower language is still valid).
  for (const char* k : {"properties", "required", "additionalProperties"})
    if (j.contains(k)) return typed(j, "object", path, depth);
  for (const char* k : {"items", "minItems", "maxItems"})
    if (j.contains(k)) return typed(j, "array", path, depth);
  for (const char* k : {"minLength", "maxLength"})
    if (j.contains(k)) return typed(j, "string", path, depth);
  return JsonSchema::kAnyValue;
}

int32_t SchemaParser::any_of(const ojson& j, const std::string& path, int depth) {
  for (const auto& [key, value] : j.items())
    if (key != "anyOf" && !annotation(key))
      fail(path, "anyOf beside '" + key + "' is not supported (move it into each alternative)");
  const ojson& alts = j["anyOf"];
  if (!alts.is_array() || alts.empty())
    fail(path + ".anyOf", "expected a non-empty list of schemas");
  Node n;
  n.kind = Kind::kAnyOf;
  for (size_t i = 0; i < alts.size(); ++i)
    n.alternatives.push_back(parse(alts[i], path + ".anyOf[" + std::to_string(i) + "]", depth + 1));
  return add(std::move(n));
}

int32_t SchemaParser::literals(const ojson& j, const std::vector<std::string>& ts,
                               const std::string& path) {
  for (const auto& [key, value] : j.items())
    if (key != "enum" && key != "const" && key != "type" && !annotation(key))
      fail(path, "'" + key + "' beside enum/const is not supported");
  if (j.contains("enum") && j.contains("const")) fail(path, "enum and const together");
  const bool is_enum = j.contains("enum");
  const ojson values = is_enum ? j["enum"] : ojson::array({j["const"]});
  if (is_enum && (!j["enum"].is_array() || values.empty()))
    fail(path + ".enum", "expected a non-empty list of values");
  Node n;
  n.kind = Kind::kLiteral;
  for (const ojson& v : values) {
    if (!ts.empty() &&
        std::none_of(ts.begin(), ts.end(), [&](const std::string& t) { return of_type(v, t); }))
      fail(path + (is_enum ? ".enum" : ".const"), "value " + dump(v) + " is not of the type given");
    const std::string text = dump(v);
    if (std::find(n.literals.begin(), n.literals.end(), text) == n.literals.end())
      n.literals.push_back(text);
  }
  return add(std::move(n));
}

void SchemaParser::counts(const ojson& j, const char* lo, const char* hi, const std::string& path,
                          Node& n) {
  for (const char* k : {lo, hi}) {
    auto it = j.find(k);
    if (it == j.end()) continue;
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > (1 << 30))
      fail(path + "." + k, "expected an integer in [0, 2^30], got " + dump(*it));
    (k == lo ? n.min_count : n.max_count) = it->get<int64_t>();
  }
  if (n.max_count >= 0 && n.min_count > n.max_count)
    fail(path, std::string(lo) + " > " + hi + ": no value is valid");
}

int32_t SchemaParser::typed(const ojson& j, const std::string& type, const std::string& path,
                            int depth) {
  if (type == "boolean") return JsonSchema::kBoolean;
  if (type == "null") return JsonSchema::kNull;
  if (type == "object") return object(j, path, depth);
  Node n;
  if (type == "number" || type == "integer") {
    n.kind = type == "number" ? Kind::kNumber : Kind::kInteger;
  } else if (type == "string") {
    n.kind = Kind::kString;
    counts(j, "minLength", "maxLength", path, n);
  } else {
    n.kind = Kind::kArray;
    counts(j, "minItems", "maxItems", path, n);
    n.items = JsonSchema::kAnyValue;
    if (auto it = j.find("items"); it != j.end()) {
      if (it->is_array()) fail(path + ".items", "a list of item schemas is not supported");
      n.items = parse(*it, path + ".items", depth + 1);
    }
  }
  return add(std::move(n));
}

int32_t SchemaParser::object(const ojson& j, const std::string& path, int depth) {
  Node n;
  n.kind = Kind::kObject;
  bool additional = true;
  if (auto it = j.find("additionalProperties"); it != j.end()) {
    if (!it->is_boolean())
      fail(path + ".additionalProperties", "only false or true is supported, got " + dump(*it));
    additional = it->get<bool>();
  }
  if (auto it = j.find("properties"); it != j.end()) {
    if (!it->is_object()) fail(path + ".properties", "expected an object of schemas");
    for (const auto& [name, sub] : it->items()) {
      const int32_t child = parse(sub, path + ".properties." + name, depth + 1);
      n.properties.push_back({dump(ojson(name)), child, false});
    }
  }
  if (auto it = j.find("required"); it != j.end()) {
    if (!it->is_array()) fail(path + ".required", "expected a list of property names");
    for (const ojson& r : *it) {
      auto p = std::find_if(n.properties.begin(), n.properties.end(),
                            [&](const JsonSchema::Property& q) { return q.key == dump(r); });
      if (!r.is_string() || p == n.properties.end())
        fail(path + ".required", dump(r) + " is not one of the properties");
      p->required = true;
    }
  }
  n.free = n.properties.empty() && additional;
  n.next_required.assign(n.properties.size() + 1, static_cast<int32_t>(n.properties.size()));
  for (size_t i = n.properties.size(); i-- > 0;)
    n.next_required[i] =
        n.properties[i].required ? static_cast<int32_t>(i) : n.next_required[i + 1];
  return add(std::move(n));
}

JsonSchema::JsonSchema() {
  nodes_.resize(7);
  nodes_[kFreeObject].kind = Kind::kObject;
  nodes_[kFreeObject].free = true;
  nodes_[kFreeObject].next_required = {0};
  nodes_[kAnyArray].kind = Kind::kArray;
  nodes_[kAnyString].kind = Kind::kString;
  nodes_[kAnyNumber].kind = Kind::kNumber;
  nodes_[kBoolean].kind = Kind::kLiteral;
  nodes_[kBoolean].literals = {"false", "true"};
  nodes_[kNull].kind = Kind::kLiteral;
  nodes_[kNull].literals = {"null"};
}

JsonSchema JsonSchema::any_object() {
  JsonSchema s;
  s.root_ = kFreeObject;
  return s;
}

JsonSchema JsonSchema::parse(std::string_view schema_json, const std::string& where) {
  ojson j;
  try {
    j = ojson::parse(schema_json.begin(), schema_json.end());
  } catch (const ojson::exception& e) {
    throw Error(where + ": not valid JSON (" + e.what() + ")");
  }
  JsonSchema s;
  SchemaParser p(s);
  s.root_ = p.parse(j, where, 0);
  return s;
}

}  // namespace loom::generate
