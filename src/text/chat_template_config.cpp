// tokenizer_config.json: the chat template and the special-token strings transformers passes to
// it. Token entries are strings or AddedToken objects ({"content": ...}).
#include "core/error.h"
#include "core/mapped_file.h"
#include "text/chat_template.h"
#include "text/json_util.h"

namespace loom::text {
namespace {

std::string token_string(const JsonNode& root, const char* key) {
  auto t = root.find(key);
  if (!t) return "";
  if (t->is_string()) return t->str();
  if (t->is_object()) return t->at("content").str();
  t->fail("a string or an object with \"content\"");
}

}  // namespace

ChatTemplateConfig parse_chat_template_config(std::string_view json, const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": not valid JSON (" + e.what() + ")");
  }
  const JsonNode root(j, name);
  ChatTemplateConfig c;
  const auto t = root.find("chat_template");
  if (!t)
    throw Error(name + ": field /chat_template: missing (the tokenizer has no chat template)");
  if (t->is_string()) {
    c.source = t->str();
  } else {
    for (size_t k = 0; k < t->size(); ++k) {
      const JsonNode e = t->index(k);
      if (e.at("name").str() == "default") c.source = e.at("template").str();
    }
    if (c.source.empty()) t->fail("a string, or a list holding a template named \"default\"");
  }
  c.tokens.bos_token = token_string(root, "bos_token");
  c.tokens.eos_token = token_string(root, "eos_token");
  c.tokens.unk_token = token_string(root, "unk_token");
  c.tokens.pad_token = token_string(root, "pad_token");
  return c;
}

ChatTemplateConfig read_chat_template_config(const std::string& path) {
  return parse_chat_template_config(read_file(path), path);
}

}  // namespace loom::text
