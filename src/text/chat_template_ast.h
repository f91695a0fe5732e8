// Internals of chat_template.*: the token stream, syntax tree and values of the Jinja subset.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom::text::jinja {

// Lexer output. Text carries template data (whitespace control already applied); the tag
// markers bracket the expression tokens of one {{ }} or {% %}.
enum class Tok { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Op, End };
struct Token {
  Tok kind;
  std::string text;  // data, name, decoded string, digits or operator
  size_t offset;     // byte offset in the (newline-normalised) template
};
std::vector<Token> lex(std::string_view source, const std::string& name);

// Values: Python's semantics for the types chat templates use.
struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, like a Python dict
struct Value {
  enum Kind { Undefined, None, Bool, Int, Str, ListK, DictK } kind = Undefined;
  bool b = false;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<const List> list;
  std::shared_ptr<const Dict> dict;

  static Value none() { return Value{None}; }
  static Value boolean(bool v) {
    Value r{Bool};
    r.b = v;
    return r;
  }
  static Value integer(int64_t v) {
    Value r{Int};
    r.i = v;
    return r;
  }
  static Value str(std::string v) {
    Value r{Str};
    r.s = std::move(v);
    return r;
  }
  static Value of_list(List v) {
    Value r{ListK};
    r.list = std::make_shared<List>(std::move(v));
    return r;
  }
  static Value of_dict(Dict v) {
    Value r{DictK};
    r.dict = std::make_shared<Dict>(std::move(v));
    return r;
  }
};

enum class Ex {
  Literal,
  Name,
  ListLit,
  DictLit,
  Attr,
  Item,
  Slice,
  Call,
  Filter,
  Test,
  Unary,
  Binary,
  And,
  Or,
  Not,
  Cond
};
struct Expr {
  Ex kind;
  size_t offset = 0;
  std::string name;     // Name, Attr, Filter/Test name, Call method, Unary/Binary operator
  Value value;          // Literal
  bool negate = false;  // Test: `is not`
  int height = 1;       // of the subtree (bounded by the parser: evaluation recurses over it)
  std::vector<std::unique_ptr<Expr>>
      args;  // operands; Slice: object then start/stop/step (null = absent)
};
using ExprPtr = std::unique_ptr<Expr>;

enum class St { Text, Output, If, For, Set };
struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;
struct Stmt {
  St kind;
  size_t offset = 0;
  std::string text;            // Text data; For / Set target name
  std::vector<ExprPtr> exprs;  // Output: 1; If: one condition per branch; For: iterable; Set: value
  std::vector<Body> bodies;    // If: one per branch (+ else when bodies > exprs); For: body
};

struct Program {
  Body body;
};
Program parse(std::vector<Token> tokens, const std::string& name);

}  // namespace loom::text::jinja
