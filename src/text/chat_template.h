// Chat templates: the Jinja subset that Hugging Face tokenizer_config.json `chat_template`s of
// the common families (ChatML, Llama 2, Llama 3, Zephyr) are written in, rendered exactly as
// transformers' apply_chat_template renders them (jinja2 with trim_blocks and lstrip_blocks, no
// trailing newline kept, bos_token/eos_token/... and raise_exception in scope).
//
// Supported: {{ }}, {% if/elif/else/endif %}, {% for x in xs %} (loop.index/index0/first/last/
// length/revindex/revindex0), {% set x = ... %}, {# #}, whitespace control {%- -%} {{- -}};
// literals (strings with \n \t \r \\ \' \" escapes, integers, true/false/none, lists, dicts);
// x.attr, x['key'], x[i], x[a:b:c]; + - * // % ~ == != < <= > >= in, not in, and, or, not,
// a if c else b; filters trim, length/count, upper, lower, first, last, string, default;
// tests defined, undefined, none, string, number, integer, boolean, mapping, sequence;
// string methods strip/lstrip/rstrip/upper/lower/startswith/endswith/title; raise_exception().
// Anything else (macros, namespace(), tojson, floats, ...) is refused at parse time with
// loom::Error naming the construct and its byte offset in the template.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace loom::text {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

// The special-token strings transformers puts in the template's scope (special_tokens_map).
// An empty string is left out of scope (the template then sees it as undefined).
struct ChatTokens {
  std::string bos_token, eos_token, unk_token, pad_token;
};

namespace jinja {
struct Program;
}

class ChatTemplate {
 public:
  // Parses a template; `name` (a file, "chat_template") prefixes error messages.
  explicit ChatTemplate(std::string_view source, std::string name = "chat_template");
  ~ChatTemplate();
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

  // Renders with `context`, a JSON object whose members are the template's variables
  // (messages, add_generation_prompt, bos_token, ...). raise_exception(msg) and runtime type
  // errors throw loom::Error.
  std::string render(const nlohmann::json& context) const;
  // apply_chat_template(messages, tokenize=False, add_generation_prompt=...).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const ChatTokens& tokens) const;

 private:
  std::unique_ptr<jinja::Program> program_;
  std::string name_;
};

// tokenizer_config.json's chat_template (a string, or the list of {name, template} where the one
// named "default" is taken) and its special-token strings (plain strings or AddedToken objects).
struct ChatTemplateConfig {
  std::string source;
  ChatTokens tokens;
};
ChatTemplateConfig read_chat_template_config(const std::string& path);
ChatTemplateConfig parse_chat_template_config(std::string_view json, const std::string& name);

}  // namespace loom::text
