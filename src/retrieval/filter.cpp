#include "retrieval/filter.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace loom::retrieval {

using nlohmann::json;

const char* field_type_name(FieldType t) {
  switch (t) {
    case FieldType::kNumber:
      return "number";
    case FieldType::kString:
      return "string";
    case FieldType::kBool:
      return "bool";
  }
  return "?";
}

namespace {

constexpr int kMaxDepth = 32;

struct OpName {
  const char* name;
  Condition::Op op;
};
constexpr OpName kOps[] = {
    {"$eq", Condition::Op::kEq},  {"$ne", Condition::Op::kNe},   {"$lt", Condition::Op::kLt},
    {"$lte", Condition::Op::kLe}, {"$gt", Condition::Op::kGt},   {"$gte", Condition::Op::kGe},
    {"$in", Condition::Op::kIn},  {"$nin", Condition::Op::kNin},
};

const char* op_name(Condition::Op op) {
  for (const OpName& o : kOps)
    if (o.op == op) return o.name;
  return "?";
}

FilterValue scalar(const json& v, const std::string& where) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) {
    double d = v.get<double>();
    if (!std::isfinite(d)) throw Error(where + ": the number is not finite");
    return d;
  }
  throw Error(where + ": expected a number, string or bool, got " + std::string(v.type_name()));
}

Condition condition(const std::string& field, const std::string& op_text, const json& v,
                    const std::string& name) {
  const std::string where = name + ": field '" + field + "' " + op_text;
  Condition c;
  c.field = field;
  const OpName* found = nullptr;
  for (const OpName& o : kOps)
    if (op_text == o.name) found = &o;
  if (found == nullptr) {
    throw Error(name + ": field '" + field + "': unknown operator '" + op_text +
                "' (expected $eq $ne $lt $lte $gt $gte $in $nin)");
  }
  c.op = found->op;
  if (c.op == Condition::Op::kIn || c.op == Condition::Op::kNin) {
    if (!v.is_array()) throw Error(where + ": expected an array of values");
    for (const json& e : v) c.values.push_back(scalar(e, where));
  } else {
    c.values.push_back(scalar(v, where));
  }
  return c;
}

void parse_object(const json& j, const std::string& name, int depth, Filter* out) {
  if (depth > kMaxDepth) throw Error(name + ": filter nested deeper than 32 levels");
  if (!j.is_object()) throw Error(name + ": expected a JSON object, got " + j.type_name());
  for (const auto& [key, v] : j.items()) {
    if (key == "$and") {
      if (!v.is_array()) throw Error(name + ": $and expects an array of filters");
      for (const json& sub : v) parse_object(sub, name, depth + 1, out);
      continue;
    }
    if (!key.empty() && key[0] == '$') {
      throw Error(name + ": unsupported operator '" + key + "' at the top level (only $and)");
    }
    if (key.empty() || key.find_first_of("\"\\") != std::string::npos) {
      throw Error(name + ": field name '" + key + "' is empty or holds a quote or backslash");
    }
    if (v.is_object()) {
      if (v.empty()) throw Error(name + ": field '" + key + "': empty operator object");
      for (const auto& [op, arg] : v.items()) out->all.push_back(condition(key, op, arg, name));
    } else {
      out->all.push_back(condition(key, "$eq", v, name));
    }
  }
}

FieldType type_of(const FilterValue& v) {
  if (std::holds_alternative<double>(v)) return FieldType::kNumber;
  if (std::holds_alternative<std::string>(v)) return FieldType::kString;
  return FieldType::kBool;
}

bool is_range(Condition::Op op) {
  return op == Condition::Op::kLt || op == Condition::Op::kLe || op == Condition::Op::kGt ||
         op == Condition::Op::kGe;
}

}  // namespace

Filter parse_filter(std::string_view text, const std::string& name) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(name + ": not valid JSON at byte " +
                std::to_string(e.id == 101 ? static_cast<const json::parse_error&>(e).byte : 0) +
                ": expected a filter object such as {\"year\": {\"$gte\": 1990}}");
  }
  Filter f;
  parse_object(j, name, 0, &f);
  return f;
}

void check_filter(const Filter& f, const std::map<std::string, FieldType>& fields) {
  for (const Condition& c : f.all) {
    auto it = fields.find(c.field);
    if (it == fields.end()) {
      std::string known;
      for (const auto& [k, t] : fields) known += (known.empty() ? "" : ", ") + k;
      throw Error("filter: unknown field '" + c.field + "' (the collection's metadata has: " +
                  (known.empty() ? "no filterable fields" : known) + ")");
    }
    for (const FilterValue& v : c.values) {
      if (type_of(v) != it->second) {
        throw Error("filter: field '" + c.field + "' holds " + field_type_name(it->second) +
                    " values, but " + op_name(c.op) + " compares it with a " +
                    field_type_name(type_of(v)));
      }
    }
    if (it->second == FieldType::kBool && is_range(c.op)) {
      throw Error(std::string("filter: field '") + c.field + "' is a bool; " + op_name(c.op) +
                  " needs a number or a string");
    }
  }
}

namespace {

// " <op> ?" or " IN (?, ...)" for one condition, its values appended to *params.
std::string comparison(const Condition& c, std::vector<FilterValue>* params) {
  static const char* kSql[] = {"=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"};
  std::string sql = std::string(" ") + kSql[static_cast<int>(c.op)] + " ";
  if (c.op == Condition::Op::kIn || c.op == Condition::Op::kNin) {
    sql += "(";
    for (size_t i = 0; i < c.values.size(); ++i) sql += i ? ", ?" : "?";
    sql += ")";
  } else {
    sql += "?";
  }
  for (const FilterValue& v : c.values) params->push_back(v);
  return sql;
}

}  // namespace

std::string filter_sql(const Filter& f, const std::string& column,
                       std::vector<FilterValue>* params) {
  std::string sql;
  for (const Condition& c : f.all) {
    if (!sql.empty()) sql += " AND ";
    sql += "json_extract(" + column + ", ?)";
    params->push_back(std::string("$.\"") + c.field + "\"");
    sql += comparison(c, params);
  }
  return sql.empty() ? "1" : sql;
}

std::string filter_sql_indexed(const Filter& f, int64_t coll, const std::string& doc_column,
                               std::vector<FilterValue>* params) {
  std::string sql;
  for (const Condition& c : f.all) {
    if (!sql.empty()) sql += " AND ";
    sql += doc_column + " IN (SELECT doc FROM meta_values WHERE coll = " + std::to_string(coll) +
           " AND key = ? AND val";
    params->push_back(c.field);
    sql += comparison(c, params) + ")";
  }
  return sql.empty() ? "1" : sql;
}

}  // namespace loom::retrieval
