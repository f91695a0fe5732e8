// Chat templates against jinja2 (tests/reference/text/chat_template_golden.py): ChatML, Qwen's
// ChatML, Llama 2, Llama 3, Zephyr and a template covering the rest of the subset, on five
// conversations with and without a generation prompt, rendered byte for byte as transformers'
// apply_chat_template renders them; unsupported constructs refused at parse time.
#include "text/chat_template.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "test_util.h"

namespace loom::text {
namespace {

nlohmann::json golden() {
  std::ifstream f(test::golden_path("text/chat_template_golden.json"));
  EXPECT_TRUE(f.good());
  return nlohmann::json::parse(f);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ChatTemplate, MatchesJinja2OnRealTemplates) {
  const nlohmann::json g = golden();
  int rendered = 0, raised = 0;
  for (const auto& c : g["cases"]) {
    const std::string name = c["template"];
    const ChatTemplate t(g["templates"][name].get<std::string>(), name);
    nlohmann::json ctx = g["tokens"][name];
    ctx["messages"] = g["conversations"][c["conversation"].get<int>()];
    ctx["add_generation_prompt"] = c["add_generation_prompt"];
    SCOPED_TRACE(name + " conversation " + c["conversation"].dump() + " agp " +
                 c["add_generation_prompt"].dump());
    if (c.contains("expected")) {
      EXPECT_EQ(t.render(ctx), c["expected"].get<std::string>());
      ++rendered;
    } else {
      const std::string msg = error_of([&] { t.render(ctx); });
      EXPECT_NE(msg.find("raise_exception: " + c["error"].get<std::string>()), std::string::npos)
          << msg;
      ++raised;
    }
  }
  EXPECT_EQ(rendered, 58);
  EXPECT_EQ(raised, 2);  // Llama 2 on a conversation that does not alternate
}

TEST(ChatTemplate, MessagesApiEqualsJsonContext) {
  const nlohmann::json g = golden();
  const ChatTemplate t(g["templates"]["llama2"].get<std::string>(), "llama2");
  const std::vector<ChatMessage> msgs = {{"system", "You are terse."},
                                         {"user", "Define FOLDOC."},
                                         {"assistant", "The Free On-line Dictionary of Computing."},
                                         {"user", "Thanks"}};
  ChatTokens tok;
  tok.bos_token = "<s>";
  tok.eos_token = "</s>";
  tok.unk_token = "<unk>";
  for (const auto& c : g["cases"])
    if (c["template"] == "llama2" && c["conversation"] == 1)
      EXPECT_EQ(t.render(msgs, c["add_generation_prompt"], tok), c["expected"].get<std::string>());
}

TEST(ChatTemplate, UnsupportedConstructsNameTheConstructAndOffset) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ab{% macro f() %}{% endmacro %}", "offset 5: tag 'macro' is not supported"},
      {"{% set ns = namespace(found=false) %}", "offset 12: calling 'namespace' is not supported"},
      {"{{ messages | tojson }}", "offset 12: filter 'tojson' is not supported"},
      {"{{ 1.5 }}", "offset 3: float or underscored number literal is not supported"},
      {"{% for k, v in d.items() %}{% endfor %}", "offset 8: tuple unpacking"},
      {"{{ x.split(',') }}", "offset 4: method 'split()' is not supported"},
      {"{% for m in messages %}{% break %}{% endfor %}", "offset 26: tag 'break'"},
      {"{% if x %}", "missing {% endif %}"},
      {"{{ 'abc }}", "offset 3: unterminated string literal"},
      {"{{ x is divisibleby 3 }}", "offset 5: test 'is divisibleby' is not supported"},
      {"{% endfor %}", "offset 3: unexpected {% endfor %}"},
      {"{{ f(x=1) }}", "offset 3: calling 'f' is not supported"},
      {"{{ '\\u00e9' }}", "offset 4: string escape \\u is not supported"},
  };
  for (const auto& c : cases) {
    const std::string& src = c.first;  // not a structured binding: clang 14 cannot capture one
    const std::string& want = c.second;
    const std::string msg = error_of([&] { ChatTemplate t(src, "tpl"); });
    EXPECT_NE(msg.find("tpl: "), std::string::npos) << src << " -> " << msg;
    EXPECT_NE(msg.find(want), std::string::npos) << src << " -> " << msg;
  }
}

TEST(ChatTemplate, RuntimeErrorsNameTheOffset) {
  const nlohmann::json ctx = {{"messages", nlohmann::json::array()}, {"n", 3}};
  auto render_err = [&](const std::string& src) {
    return error_of([&] { ChatTemplate(src, "tpl").render(ctx); });
  };
  EXPECT_NE(render_err("{{ 'a' + n }}").find("offset 7: '+' on a string and a int"),
            std::string::npos);
  EXPECT_NE(render_err("{{ n // 0 }}").find("division or modulo by zero"), std::string::npos);
  EXPECT_NE(render_err("{{ raise_exception('bad ' ~ n) }}").find("raise_exception: bad 3"),
            std::string::npos);
  EXPECT_NE(render_err("{{ missing.x }}").find("subscript of an undefined value"),
            std::string::npos);
  EXPECT_NE(render_err("{{ messages }}").find("turning a list into text"), std::string::npos);
}

TEST(ChatTemplate, ReadsTokenizerConfig) {
  const std::string json = R"({
    "bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"},
    "eos_token": "</s>",
    "chat_template": [{"name": "tool_use", "template": "T"},
                      {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]
  })";
  const ChatTemplateConfig c = parse_chat_template_config(json, "tokenizer_config.json");
  EXPECT_EQ(c.tokens.bos_token, "<s>");
  EXPECT_EQ(c.tokens.eos_token, "</s>");
  EXPECT_EQ(ChatTemplate(c.source).render({{"user", "hi"}}, false, c.tokens), "<s>hi</s>");
  EXPECT_NE(error_of([] {
              parse_chat_template_config("{\"eos_token\": \"x\"}", "cfg.json");
            }).find("cfg.json: field /chat_template: missing"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_chat_template_config("{\"chat_template\": 3}", "cfg.json");
            }).find("cfg.json: field /chat_template"),
            std::string::npos);
}

// Deep nesting is refused instead of recursing without bound.
TEST(ChatTemplate, RefusesPathologicalNesting) {
  const std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_NE(error_of([&] { ChatTemplate t(deep); }).find("nesting deeper"), std::string::npos);
  std::string chain = "{{ 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  EXPECT_NE(error_of([&] { ChatTemplate t(chain + " }}"); }).find("nested too deeply"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::text
