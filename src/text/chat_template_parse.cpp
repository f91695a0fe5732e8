// Parser of the chat-template Jinja subset: jinja2's grammar and operator precedence
// (condexpr < or < and < not < compare < + - < ~ < * / // % < ** < unary < postfix, filter, test),
// restricted to what chat_template.h lists. Anything else is refused here, before rendering.
#include <algorithm>
#include <set>
#include <string>

#include "core/error.h"
#include "text/chat_template_ast.h"

namespace loom::text::jinja {
namespace {

const std::set<std::string> kFilters = {"trim",  "length", "count",  "upper",  "lower",
                                        "first", "last",   "string", "default"};
const std::set<std::string> kTests = {"defined", "undefined", "none",    "string",  "number",
                                      "integer", "boolean",   "mapping", "sequence"};
const std::set<std::string> kMethods = {"strip", "lstrip",     "rstrip",  "upper",
                                        "lower", "startswith", "endswith"};
constexpr int kMaxDepth = 128;  // nesting of expressions and blocks (keeps the stack bounded)

class Parser {
 public:
  Parser(std::vector<Token> t, const std::string& name) : t_(std::move(t)), name_(name) {}
  Program run();

 private:
  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error(name_ + ": offset " + std::to_string(at) + ": " + what);
  }
  const Token& peek() const { return t_[i_]; }
  bool is_op(const char* op) const { return peek().kind == Tok::Op && peek().text == op; }
  bool is_name(const char* n) const { return peek().kind == Tok::Name && peek().text == n; }
  bool skip_op(const char* op) { return is_op(op) ? (++i_, true) : false; }
  bool skip_name(const char* n) { return is_name(n) ? (++i_, true) : false; }
  void expect_op(const char* op);
  std::string expect_name();
  void expect_block_end();
  void enter(size_t at) {
    if (++depth_ > kMaxDepth) fail(at, "nesting deeper than " + std::to_string(kMaxDepth));
  }
  std::string describe(const Token& t) const;

  std::string parse_body(Body& body, const std::set<std::string>& stops);
  std::unique_ptr<Stmt> parse_tag(const std::string& tag, size_t at);
  std::unique_ptr<Stmt> parse_if(size_t at);
  std::unique_ptr<Stmt> parse_for(size_t at);
  std::unique_ptr<Stmt> parse_set(size_t at);

  ExprPtr parse_expr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_binary(int level);
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_collection();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_filters(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr obj, size_t at);
  ExprPtr parse_call(ExprPtr callee, size_t at);
  void parse_args(Expr& into);
  ExprPtr seal(ExprPtr e);

  std::vector<Token> t_;
  const std::string& name_;
  size_t i_ = 0;
  int depth_ = 0;
};

ExprPtr node(Ex kind, size_t at, std::string name = {}) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->offset = at;
  e->name = std::move(name);
  return e;
}

ExprPtr literal(Value v, size_t at) {
  auto e = node(Ex::Literal, at);
  e->value = std::move(v);
  return e;
}

ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, size_t at) {
  Ex k = op == "and" ? Ex::And : op == "or" ? Ex::Or : Ex::Binary;
  auto e = node(k, at, op);
  e->args.push_back(std::move(a));
  e->args.push_back(std::move(b));
  return e;
}

// Sets e's height from its operands; refuses a tree deeper than evaluation should recurse.
ExprPtr Parser::seal(ExprPtr e) {
  for (const auto& a : e->args)
    if (a) e->height = std::max(e->height, a->height + 1);
  if (e->height > 4 * kMaxDepth) fail(e->offset, "expression nested too deeply");
  return e;
}

std::string Parser::describe(const Token& t) const {
  switch (t.kind) {
    case Tok::End:
      return "end of template";
    case Tok::VarEnd:
      return "'}}'";
    case Tok::BlockEnd:
      return "'%}'";
    case Tok::String:
      return "a string";
    default:
      return "'" + t.text + "'";
  }
}

void Parser::expect_op(const char* op) {
  if (!skip_op(op))
    fail(peek().offset, std::string("expected '") + op + "', got " + describe(peek()));
}

std::string Parser::expect_name() {
  if (peek().kind != Tok::Name) fail(peek().offset, "expected a name, got " + describe(peek()));
  return t_[i_++].text;
}

void Parser::expect_block_end() {
  if (peek().kind != Tok::BlockEnd) fail(peek().offset, "expected '%}', got " + describe(peek()));
  ++i_;
}

Program Parser::run() {
  Program p;
  parse_body(p.body, {});
  if (peek().kind != Tok::End) fail(peek().offset, "unexpected " + describe(peek()));
  return p;
}

// Statements up to a tag named in `stops` (or the end); returns that tag's name ("" at the end),
// with the cursor after the name.
std::string Parser::parse_body(Body& body, const std::set<std::string>& stops) {
  for (;;) {
    const Token& t = peek();
    if (t.kind == Tok::End) {
      if (!stops.empty()) fail(t.offset, "missing {% " + *stops.rbegin() + " %}");
      return "";
    }
    if (t.kind == Tok::Text) {
      auto s = std::make_unique<Stmt>();
      s->kind = St::Text;
      s->offset = t.offset;
      s->text = t.text;
      body.push_back(std::move(s));
      ++i_;
    } else if (t.kind == Tok::VarBegin) {
      auto s = std::make_unique<Stmt>();
      s->kind = St::Output;
      s->offset = t.offset;
      ++i_;
      s->exprs.push_back(parse_expr());
      if (peek().kind != Tok::VarEnd) fail(peek().offset, "expected '}}', got " + describe(peek()));
      ++i_;
      body.push_back(std::move(s));
    } else {
      ++i_;  // BlockBegin
      const size_t at = peek().offset;
      const std::string tag = expect_name();
      if (stops.count(tag)) return tag;
      body.push_back(parse_tag(tag, at));
    }
  }
}

std::unique_ptr<Stmt> Parser::parse_tag(const std::string& tag, size_t at) {
  if (tag == "if") return parse_if(at);
  if (tag == "for") return parse_for(at);
  if (tag == "set") return parse_set(at);
  if (tag == "elif" || tag == "else" || tag.rfind("end", 0) == 0)
    fail(at, "unexpected {% " + tag + " %} (no block open that it closes)");
  fail(at, "tag '" + tag + "' is not supported");
}

std::unique_ptr<Stmt> Parser::parse_if(size_t at) {
  enter(at);
  auto s = std::make_unique<Stmt>();
  s->kind = St::If;
  s->offset = at;
  std::string tag = "if";
  while (tag == "if" || tag == "elif") {
    s->exprs.push_back(parse_expr());
    expect_block_end();
    s->bodies.emplace_back();
    tag = parse_body(s->bodies.back(), {"elif", "else", "endif"});
  }
  if (tag == "else") {
    expect_block_end();
    s->bodies.emplace_back();
    parse_body(s->bodies.back(), {"endif"});
  }
  expect_block_end();
  --depth_;
  return s;
}

std::unique_ptr<Stmt> Parser::parse_for(size_t at) {
  enter(at);
  auto s = std::make_unique<Stmt>();
  s->kind = St::For;
  s->offset = at;
  s->text = expect_name();
  if (is_op(",")) fail(peek().offset, "tuple unpacking in {% for %} is not supported");
  if (!skip_name("in")) fail(peek().offset, "expected 'in', got " + describe(peek()));
  // The iterable is parsed without a conditional expression, as jinja2 does, so that
  // `for x in xs if c` is the (unsupported) loop filter rather than `xs if c else ...`.
  s->exprs.push_back(parse_or());
  if (is_name("if")) fail(peek().offset, "loop filter {% for ... if %} is not supported");
  if (is_name("recursive")) fail(peek().offset, "recursive loops are not supported");
  expect_block_end();
  s->bodies.emplace_back();
  const std::string tag = parse_body(s->bodies.back(), {"else", "endfor"});
  if (tag == "else") fail(t_[i_ - 1].offset, "{% for %} ... {% else %} is not supported");
  expect_block_end();
  --depth_;
  return s;
}

std::unique_ptr<Stmt> Parser::parse_set(size_t at) {
  auto s = std::make_unique<Stmt>();
  s->kind = St::Set;
  s->offset = at;
  s->text = expect_name();
  if (is_op(".")) fail(peek().offset, "attribute assignment (namespace) is not supported");
  if (is_op(",")) fail(peek().offset, "tuple assignment in {% set %} is not supported");
  if (peek().kind == Tok::BlockEnd) fail(at, "block {% set %} ... {% endset %} is not supported");
  expect_op("=");
  s->exprs.push_back(parse_expr());
  expect_block_end();
  return s;
}

ExprPtr Parser::parse_expr() {
  const size_t at = peek().offset;
  enter(at);
  ExprPtr e = parse_or();
  while (skip_name("if")) {
    auto c = node(Ex::Cond, at);
    c->args.push_back(std::move(e));
    c->args.push_back(parse_or());
    c->args.push_back(skip_name("else") ? parse_expr() : nullptr);
    e = seal(std::move(c));
  }
  --depth_;
  return e;
}

ExprPtr Parser::parse_or() {
  ExprPtr e = parse_and();
  while (is_name("or")) {
    const size_t at = t_[i_++].offset;
    e = seal(binary("or", std::move(e), parse_and(), at));
  }
  return e;
}

ExprPtr Parser::parse_and() {
  ExprPtr e = parse_not();
  while (is_name("and")) {
    const size_t at = t_[i_++].offset;
    e = seal(binary("and", std::move(e), parse_not(), at));
  }
  return e;
}

ExprPtr Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  const size_t at = t_[i_++].offset;
  enter(at);
  auto e = node(Ex::Not, at);
  e->args.push_back(parse_not());
  --depth_;
  return seal(std::move(e));
}

// a < b < c is (a < b) and (b < c), as in Python; b is pure, so evaluating it twice is harmless
// except for cost, and chat templates do not chain.
ExprPtr Parser::parse_compare() {
  ExprPtr e = parse_binary(0);
  for (;;) {
    const size_t at = peek().offset;
    std::string op;
    for (const char* o : {"==", "!=", "<", "<=", ">", ">="})
      if (is_op(o)) op = o;
    if (!op.empty()) {
      ++i_;
    } else if (skip_name("in")) {
      op = "in";
    } else if (is_name("not") && t_[i_ + 1].kind == Tok::Name && t_[i_ + 1].text == "in") {
      i_ += 2;
      op = "not in";
    } else {
      return e;
    }
    e = seal(binary(op, std::move(e), parse_binary(0), at));
  }
}

// Levels: 0 `+ -`, 1 `~`, 2 `* / // %`, 3 `**`, then unary.
ExprPtr Parser::parse_binary(int level) {
  static const std::vector<std::vector<const char*>> kOps = {
      {"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
  if (level == 4) return parse_unary(true);
  ExprPtr e = parse_binary(level + 1);
  for (;;) {
    const char* op = nullptr;
    for (const char* o : kOps[level])
      if (is_op(o)) op = o;
    if (!op) return e;
    const size_t at = t_[i_++].offset;
    e = seal(binary(op, std::move(e), parse_binary(level + 1), at));
  }
}

ExprPtr Parser::parse_unary(bool with_filter) {
  const size_t at = peek().offset;
  ExprPtr e;
  if (is_op("-") || is_op("+")) {
    enter(at);
    e = node(Ex::Unary, at, t_[i_++].text);
    e->args.push_back(parse_unary(false));
    e = seal(std::move(e));
    --depth_;
  } else {
    e = parse_primary();
  }
  e = parse_postfix(std::move(e));
  return with_filter ? parse_filters(std::move(e)) : std::move(e);
}

ExprPtr Parser::parse_primary() {
  const Token& t = peek();
  const size_t at = t.offset;
  if (t.kind == Tok::Name) {
    ++i_;
    if (t.text == "true" || t.text == "True") return literal(Value::boolean(true), at);
    if (t.text == "false" || t.text == "False") return literal(Value::boolean(false), at);
    if (t.text == "none" || t.text == "None") return literal(Value::none(), at);
    return node(Ex::Name, at, t.text);
  }
  if (t.kind == Tok::String) {
    std::string s;
    while (peek().kind == Tok::String) s += t_[i_++].text;  // adjacent literals concatenate
    return literal(Value::str(std::move(s)), at);
  }
  if (t.kind == Tok::Int) return literal(Value::integer(std::stoll(t_[i_++].text)), at);
  if (skip_op("(")) {
    ExprPtr e = parse_expr();
    if (is_op(",")) fail(peek().offset, "tuples are not supported");
    expect_op(")");
    return e;
  }
  if (is_op("[") || is_op("{")) return parse_collection();
  fail(at, "expected an expression, got " + describe(t));
}

ExprPtr Parser::parse_collection() {
  const bool is_list = is_op("[");
  const size_t at = t_[i_++].offset;
  enter(at);
  auto e = node(is_list ? Ex::ListLit : Ex::DictLit, at);
  const char* close = is_list ? "]" : "}";
  while (!is_op(close)) {
    if (!e->args.empty()) expect_op(",");
    if (is_op(close)) break;  // trailing comma
    e->args.push_back(parse_expr());
    if (!is_list) {
      expect_op(":");
      e->args.push_back(parse_expr());
    }
  }
  ++i_;
  --depth_;
  return seal(std::move(e));
}

ExprPtr Parser::parse_postfix(ExprPtr e) {
  for (;;) {
    const size_t at = peek().offset;
    if (skip_op(".")) {
      if (peek().kind == Tok::Int) {
        auto item = node(Ex::Item, at);
        item->args.push_back(std::move(e));
        item->args.push_back(literal(Value::integer(std::stoll(t_[i_++].text)), at));
        e = seal(std::move(item));
        continue;
      }
      auto attr = node(Ex::Attr, at, expect_name());
      attr->args.push_back(std::move(e));
      e = seal(std::move(attr));
    } else if (skip_op("[")) {
      e = seal(parse_subscript(std::move(e), at));
    } else if (skip_op("(")) {
      e = seal(parse_call(std::move(e), at));
    } else {
      return e;
    }
  }
}

// After '[': x[i] or x[start:stop:step] (each part optional).
ExprPtr Parser::parse_subscript(ExprPtr obj, size_t at) {
  enter(at);
  ExprPtr parts[3];
  int n = 0;
  for (; n < 3; ++n) {
    if (!is_op(":") && !is_op("]")) parts[n] = parse_expr();
    if (!skip_op(":")) break;
  }
  if (n == 3) fail(peek().offset, "too many ':' in a slice");
  expect_op("]");
  --depth_;
  auto e = node(n == 0 ? Ex::Item : Ex::Slice, at);
  e->args.push_back(std::move(obj));
  if (n == 0) {
    if (!parts[0]) fail(at, "empty subscript []");
    e->args.push_back(std::move(parts[0]));
  } else {
    for (auto& p : parts) e->args.push_back(std::move(p));
  }
  return e;
}

// After '(': raise_exception(msg) or a string method obj.m(args).
ExprPtr Parser::parse_call(ExprPtr callee, size_t at) {
  if (callee->kind == Ex::Name && callee->name == "raise_exception") {
    auto e = node(Ex::Call, at, "raise_exception");
    parse_args(*e);
    return e;
  }
  if (callee->kind != Ex::Attr) {
    const std::string what = callee->kind == Ex::Name ? "'" + callee->name + "'" : "this value";
    fail(callee->offset,
         "calling " + what + " is not supported (only raise_exception and " + "string methods)");
  }
  if (!kMethods.count(callee->name))
    fail(callee->offset, "method '" + callee->name + "()' is not supported");
  auto e = node(Ex::Call, at, callee->name);
  e->args.push_back(std::move(callee->args[0]));
  parse_args(*e);
  return e;
}

// Positional arguments up to ')' (the '(' is consumed), appended to into.args.
void Parser::parse_args(Expr& into) {
  enter(into.offset);
  bool first = true;
  while (!skip_op(")")) {
    if (!first) expect_op(",");
    first = false;
    if (peek().kind == Tok::Name && t_[i_ + 1].kind == Tok::Op && t_[i_ + 1].text == "=")
      fail(peek().offset, "keyword arguments are not supported");
    into.args.push_back(parse_expr());
  }
  --depth_;
}

ExprPtr Parser::parse_filters(ExprPtr e) {
  for (;;) {
    const size_t at = peek().offset;
    if (skip_op("|")) {
      const std::string f = expect_name();
      if (!kFilters.count(f)) fail(at, "filter '" + f + "' is not supported");
      auto n = node(Ex::Filter, at, f);
      n->args.push_back(std::move(e));
      if (skip_op("(")) parse_args(*n);
      e = seal(std::move(n));
    } else if (skip_name("is")) {
      auto n = node(Ex::Test, at);
      n->negate = skip_name("not");
      n->name = expect_name();
      if (!kTests.count(n->name)) fail(at, "test 'is " + n->name + "' is not supported");
      n->args.push_back(std::move(e));
      e = seal(std::move(n));
    } else {
      return e;
    }
  }
}

}  // namespace

Program parse(std::vector<Token> tokens, const std::string& name) {
  return Parser(std::move(tokens), name).run();
}

}  // namespace loom::text::jinja
