// Chat-template rendering: evaluates the tree chat_template_parse.cpp builds, with jinja2's
// scoping (a {% for %} body is its own scope: `set` inside it does not leak out) and loop
// variables, and reads tokenizer_config.json.
#include "text/chat_template.h"

#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "text/chat_template_value.h"

namespace loom::text {
namespace jinja {
namespace {

Value from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return Value::none();
    case nlohmann::json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::string:
      return Value::str(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      List l;
      for (const auto& x : j) l.push_back(from_json(x));
      return Value::of_list(std::move(l));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it)
        d.emplace_back(it.key(), from_json(it.value()));
      return Value::of_dict(std::move(d));
    }
    default:
      throw EvalError("a float in the render context is not supported");
  }
}

class Renderer {
 public:
  Renderer(const std::string& name, std::string& out) : name_(name), out_(out) {}
  void set_global(const std::string& k, Value v) { scopes_[0][k] = std::move(v); }
  void run(const Body& body);

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(name_ + ": offset " + std::to_string(at) + ": " + what);
  }
  Value eval(const Expr& e);
  Value eval_node(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_call(const Expr& e);
  Value lookup(const std::string& n) const;
  void run_for(const Stmt& s);

  const std::string& name_;
  std::string& out_;
  std::vector<std::map<std::string, Value>> scopes_{1};
};

Value Renderer::lookup(const std::string& n) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto f = it->find(n);
    if (f != it->end()) return f->second;
  }
  return Value{};
}

// Errors of an operation carry the offset of the node that failed (once: the inner one).
Value Renderer::eval(const Expr& e) {
  try {
    return eval_node(e);
  } catch (const EvalError& x) {
    fail(e.offset, x.what());
  }
}

Value Renderer::eval_binary(const Expr& e) {
  const Value a = eval(*e.args[0]);
  if (e.kind == Ex::And) return truthy(a) ? eval(*e.args[1]) : a;
  if (e.kind == Ex::Or) return truthy(a) ? a : eval(*e.args[1]);
  const Value b = eval(*e.args[1]);
  const std::string& op = e.name;
  if (op == "==") return Value::boolean(equals(a, b));
  if (op == "!=") return Value::boolean(!equals(a, b));
  if (op == "<") return Value::boolean(less(a, b));
  if (op == ">") return Value::boolean(less(b, a));
  if (op == "<=") return Value::boolean(!less(b, a));
  if (op == ">=") return Value::boolean(!less(a, b));
  if (op == "in") return Value::boolean(contains(b, a));
  if (op == "not in") return Value::boolean(!contains(b, a));
  if (op == "~") return Value::str(to_str(a) + to_str(b));
  return arith(op, a, b);
}

Value Renderer::eval_call(const Expr& e) {
  std::vector<Value> args;
  const size_t first = e.name == "raise_exception" ? 0 : 1;
  for (size_t k = first; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
  if (e.name == "raise_exception") {
    throw EvalError("raise_exception: " + (args.empty() ? std::string() : to_str(args[0])));
  }
  return call_method(e.name, eval(*e.args[0]), args);
}

Value Renderer::eval_node(const Expr& e) {
  switch (e.kind) {
    case Ex::Literal:
      return e.value;
    case Ex::Name:
      return lookup(e.name);
    case Ex::ListLit:
    case Ex::DictLit: {
      List items;
      for (const auto& a : e.args) items.push_back(eval(*a));
      if (e.kind == Ex::ListLit) return Value::of_list(std::move(items));
      Dict d;
      for (size_t k = 0; k + 1 < items.size(); k += 2) {
        if (items[k].kind != Value::Str) throw EvalError("dict keys must be strings here");
        d.emplace_back(items[k].s, items[k + 1]);
      }
      return Value::of_dict(std::move(d));
    }
    case Ex::Attr:
      return get_item(eval(*e.args[0]), Value::str(e.name));
    case Ex::Item:
      return get_item(eval(*e.args[0]), eval(*e.args[1]));
    case Ex::Slice: {
      const Value obj = eval(*e.args[0]);
      Value b[3];
      for (int k = 0; k < 3; ++k)
        if (e.args[k + 1]) b[k] = eval(*e.args[k + 1]);
      auto p = [&](int k) { return e.args[k + 1] ? &b[k] : nullptr; };
      return slice(obj, p(0), p(1), p(2));
    }
    case Ex::Call:
      return eval_call(e);
    case Ex::Filter: {
      std::vector<Value> args;
      for (size_t k = 1; k < e.args.size(); ++k) args.push_back(eval(*e.args[k]));
      return apply_filter(e.name, eval(*e.args[0]), args);
    }
    case Ex::Test:
      return Value::boolean(apply_test(e.name, eval(*e.args[0])) != e.negate);
    case Ex::Unary: {
      const Value v = eval(*e.args[0]);
      return e.name == "-" ? arith("-", Value::integer(0), v) : arith("+", Value::integer(0), v);
    }
    case Ex::Not:
      return Value::boolean(!truthy(eval(*e.args[0])));
    case Ex::Cond:
      if (truthy(eval(*e.args[1]))) return eval(*e.args[0]);
      return e.args[2] ? eval(*e.args[2]) : Value{};
    default:
      return eval_binary(e);
  }
}

Value loop_value(int64_t i, int64_t n) {
  Dict d = {{"index0", Value::integer(i)},
            {"index", Value::integer(i + 1)},
            {"revindex0", Value::integer(n - 1 - i)},
            {"revindex", Value::integer(n - i)},
            {"first", Value::boolean(i == 0)},
            {"last", Value::boolean(i == n - 1)},
            {"length", Value::integer(n)}};
  return Value::of_dict(std::move(d));
}

void Renderer::run_for(const Stmt& s) {
  const Value seq = eval(*s.exprs[0]);
  List items;
  if (seq.kind == Value::ListK) {
    items = *seq.list;
  } else if (seq.kind == Value::DictK) {
    for (const auto& kv : *seq.dict) items.push_back(Value::str(kv.first));
  } else if (seq.kind == Value::Str) {
    const std::vector<size_t> at = code_points(seq.s);
    for (size_t k = 0; k + 1 < at.size(); ++k)
      items.push_back(Value::str(seq.s.substr(at[k], at[k + 1] - at[k])));
  } else if (seq.kind != Value::Undefined) {  // jinja2 iterates an undefined value as empty
    fail(s.exprs[0]->offset, std::string("cannot iterate over a ") + kind_name(seq));
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    scopes_.emplace_back();
    scopes_.back()["loop"] = loop_value(i, n);
    scopes_.back()[s.text] = items[i];
    run(s.bodies[0]);
    scopes_.pop_back();
  }
}

void Renderer::run(const Body& body) {
  for (const auto& s : body) {
    switch (s->kind) {
      case St::Text:
        out_ += s->text;
        break;
      case St::Output: {
        const Value v = eval(*s->exprs[0]);
        try {
          out_ += to_str(v);
        } catch (const EvalError& x) {
          fail(s->offset, x.what());
        }
        break;
      }
      case St::Set:
        scopes_.back()[s->text] = eval(*s->exprs[0]);
        break;
      case St::For:
        run_for(*s);
        break;
      case St::If: {
        size_t k = 0;
        while (k < s->exprs.size() && !truthy(eval(*s->exprs[k]))) ++k;
        if (k < s->bodies.size()) run(s->bodies[k]);
        break;
      }
    }
  }
}

// jinja2's lexer: "\r\n" and "\r" become "\n"; one trailing newline is dropped.
std::string normalize_newlines(std::string_view src) {
  std::string s;
  s.reserve(src.size());
  for (size_t i = 0; i < src.size(); ++i) {
    if (src[i] != '\r') {
      s += src[i];
    } else {
      s += '\n';
      if (i + 1 < src.size() && src[i + 1] == '\n') ++i;
    }
  }
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace
}  // namespace jinja

ChatTemplate::ChatTemplate(std::string_view source, std::string name) : name_(std::move(name)) {
  const std::string src = jinja::normalize_newlines(source);
  program_ = std::make_unique<jinja::Program>(jinja::parse(jinja::lex(src, name_), name_));
}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

std::string ChatTemplate::render(const nlohmann::json& context) const {
  if (!context.is_object()) throw Error(name_ + ": render context must be a JSON object");
  std::string out;
  jinja::Renderer r(name_, out);
  try {
    for (auto it = context.begin(); it != context.end(); ++it)
      r.set_global(it.key(), jinja::from_json(it.value()));
  } catch (const jinja::EvalError& e) {
    throw Error(name_ + ": " + e.what());
  }
  r.run(program_->body);
  return out;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt, const ChatTokens& tokens) const {
  nlohmann::json ctx = nlohmann::json::object();
  ctx["messages"] = nlohmann::json::array();
  for (const auto& m : messages)
    ctx["messages"].push_back({{"role", m.role}, {"content", m.content}});
  ctx["add_generation_prompt"] = add_generation_prompt;
  for (auto [k, v] : {std::pair<const char*, const std::string*>{"bos_token", &tokens.bos_token},
                      {"eos_token", &tokens.eos_token},
                      {"unk_token", &tokens.unk_token},
                      {"pad_token", &tokens.pad_token}})
    if (!v->empty()) ctx[k] = *v;
  return render(ctx);
}

}  // namespace loom::text
