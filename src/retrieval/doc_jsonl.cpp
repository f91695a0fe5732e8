#include "retrieval/doc_jsonl.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "text/json_util.h"

namespace loom::retrieval {

namespace {

using nlohmann::json;

DocInput document_of(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object, got " + j.type_name());
  DocInput d;
  const json* id = j.contains("id") ? &j["id"] : j.contains("_id") ? &j["_id"] : nullptr;
  if (id == nullptr) throw Error(where + ": missing \"id\"");
  if (id->is_string()) {
    d.id = id->get<std::string>();
  } else if (id->is_number_integer()) {
    d.id = id->dump();
  } else {
    throw Error(where + ": \"id\" must be a string or an integer");
  }
  if (d.id.empty()) throw Error(where + ": \"id\" is empty");
  if (!j.contains("text") || !j["text"].is_string())
    throw Error(where + ": missing \"text\" (a string)");
  d.text = j["text"].get<std::string>();
  if (j.contains("title")) {
    if (!j["title"].is_string()) throw Error(where + ": \"title\" must be a string");
    const std::string title = j["title"].get<std::string>();
    if (!title.empty()) d.text = title + " " + d.text;
  }
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object()) throw Error(where + ": \"metadata\" must be a JSON object");
    d.metadata = j["metadata"].dump();
  }
  return d;
}

}  // namespace

std::vector<DocInput> parse_documents_jsonl(std::string_view text, const std::string& name) {
  std::vector<DocInput> out;
  text::for_each_jsonl(text, name, "document",
                       [&](const json& j, const std::string& where) { out.push_back(document_of(j, where)); });
  return out;
}

}  // namespace loom::retrieval
