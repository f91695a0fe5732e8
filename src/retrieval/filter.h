// Metadata filters in Chroma's `where` JSON, the form users of vector stores already know:
//
//   {"year": {"$gte": 1990, "$lt": 2000}, "lang": {"$in": ["en", "de"]}, "draft": false}
//
// A top-level key is a metadata field; its value is either a literal (equality) or an object of
// operators, all of which must hold: $eq $ne $lt $lte $gt $gte (one number, string or bool) and
// $in $nin (an array of them). "$and": [filter, ...] combines filters; every condition of a
// filter must hold (there is no $or). Ranges apply to numbers and strings (byte order), not to
// bools. A filter is type-checked against the field types the collection has seen: an unknown
// field or a value of the wrong type is a loom::Error naming the field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loom::retrieval {

enum class FieldType { kNumber, kString, kBool };
const char* field_type_name(FieldType t);

using FilterValue = std::variant<double, std::string, bool>;

struct Condition {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNin };
  std::string field;
  Op op = Op::kEq;
  std::vector<FilterValue> values;  // one, or the list of $in / $nin
};

// A conjunction of conditions; empty matches everything.
struct Filter {
  std::vector<Condition> all;
  bool empty() const { return all.empty(); }
};

// Parses the JSON text; `name` says where it came from in errors ("--where", "filter.json").
Filter parse_filter(std::string_view json, const std::string& name = "filter");

// Throws unless every condition names a known field with values of its type.
void check_filter(const Filter& f, const std::map<std::string, FieldType>& fields);

// The filter as an SQL boolean expression over a JSON text column `column`, with `?`
// placeholders whose values are appended to *params (JSON paths as strings, then the values).
std::string filter_sql(const Filter& f, const std::string& column,
                       std::vector<FilterValue>* params);

// The same filter over the document store's side table meta_values(coll, doc, key, val)
// (doc_store.h), one `doc_column IN (SELECT doc FROM meta_values WHERE coll = <coll> AND key = ?
// AND val <op> ?)` per condition. val holds exactly what json_extract returns for the key, so
// both forms keep the same documents; this one reads the (coll, key, val) index instead of
// parsing every document's JSON.
std::string filter_sql_indexed(const Filter& f, int64_t coll, const std::string& doc_column,
                               std::vector<FilterValue>* params);

}  // namespace loom::retrieval
