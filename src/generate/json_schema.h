// JSON Schema (a subset) -> an incremental recogniser of the JSON texts valid against it, for
// constrained decoding (json_constraint.h turns it into a per-token mask).
//
// Supported: type (object, array, string, number, integer, boolean, null, or a list of these),
// properties, required, additionalProperties (false or true), items, enum, const, minItems,
// maxItems, minLength, maxLength, anyOf, nesting; annotations (title, description, default,
// examples, $comment, $schema) are ignored. Any other keyword throws loom::Error naming it.
//
// The language recognised (every text of it is valid against the schema; not every valid text
// is in it):
//  - compact JSON: no whitespace outside strings;
//  - an object with properties writes them in the schema's order, each at most once, every
//    required one present; no other keys. Without properties (and additionalProperties not
//    false) it is a free object: any keys, any values (response_format json_object);
//  - numbers: at most 18 digits before and after the point and 2 exponent digits; integers
//    without fraction or exponent, so they fit int64;
//  - strings: valid UTF-8 (no overlong forms or surrogates), escapes \" \\ \/ \b \f \n \r \t and
//    \uXXXX outside D800-DFFF; lengths count code points (an escape is one);
//  - enum / const values as nlohmann's compact dump of the value.
//
// The recogniser is a pushdown automaton over bytes; anyOf makes it nondeterministic, so its state
// is a set of stacks (kept duplicate-free).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::generate {

class JsonSchema {
 public:
  enum class Kind : uint8_t { kAny, kObject, kArray, kString, kNumber, kInteger, kLiteral, kAnyOf };
  struct Property {
    std::string key;  // the quoted key as written, e.g. "\"name\""
    int32_t node = 0;
    bool required = false;
  };
  struct Node {
    Kind kind = Kind::kAny;
    std::vector<Property> properties;    // object
    std::vector<int32_t> next_required;  // object: first required index >= i (i in [0, n])
    bool free = false;                   // object: any keys, values of any type
    int32_t items = 0;                   // array: the items' node
    int64_t min_count = 0;               // minItems / minLength
    int64_t max_count = -1;              // maxItems / maxLength; -1: none
    std::vector<std::string> literals;   // literal: compact JSON texts, distinct
    std::vector<int32_t> alternatives;   // anyOf
  };

  // Any JSON object (OpenAI's response_format {"type": "json_object"}).
  static JsonSchema any_object();
  // `schema_json` is the schema's JSON text; `where` names it in errors, e.g.
  // "response_format.json_schema.schema.properties.a: unsupported keyword 'pattern'".
  static JsonSchema parse(std::string_view schema_json, const std::string& where = "schema");

  const Node& node(int32_t i) const { return nodes_[static_cast<size_t>(i)]; }
  int32_t root() const { return root_; }

  // Fixed nodes every schema has: any value and its per-type forms.
  static constexpr int32_t kAnyValue = 0, kFreeObject = 1, kAnyArray = 2, kAnyString = 3,
                           kAnyNumber = 4, kBoolean = 5, kNull = 6;

 private:
  JsonSchema();
  friend class SchemaParser;
  std::vector<Node> nodes_;
  int32_t root_ = 0;
};

class JsonRecognizer {
 public:
  explicit JsonRecognizer(const JsonSchema& schema);

  // Feeds bytes; false (and the recogniser is dead: every later feed fails) when the text so far
  // is no longer a prefix of a text of the language.
  bool feed(std::string_view bytes);
  // This = `from` after one byte; false when that byte ends every parse.
  bool advance(const JsonRecognizer& from, unsigned char c);
  bool dead() const { return ends_.empty(); }
  // The text so far is a whole value of the language (it may still continue: a top-level
  // number or an enum value that prefixes another).
  bool complete() const;
  // Complete and no byte may follow.
  bool finished() const;

  struct Frame {
    int32_t node, phase, a, b, c;
    bool operator==(const Frame&) const = default;
  };

 private:
  enum class Step : uint8_t { kDead, kConsumed, kDone, kDoneRefeed, kRefeed, kBranch };
  void step(std::vector<Frame>& stack, unsigned char c);
  Step feed_frame(std::vector<Frame>& stack, unsigned char c) const;
  Step feed_object(std::vector<Frame>& stack, unsigned char c) const;
  Step feed_key(Frame& f, const JsonSchema::Node& n, unsigned char c) const;
  Step feed_array(std::vector<Frame>& stack, unsigned char c) const;
  Step feed_string(Frame& f, const JsonSchema::Node& n, unsigned char c) const;
  Step feed_number(Frame& f, bool integer, unsigned char c) const;
  Step feed_literal(Frame& f, const JsonSchema::Node& n, unsigned char c) const;
  bool ends_by_lookahead(const Frame& f) const;
  void emit(const std::vector<Frame>& stack);

  const JsonSchema* schema_;
  std::vector<Frame> frames_;   // the stacks, concatenated (bottom first)
  std::vector<uint32_t> ends_;  // end offset of each stack in frames_
  std::vector<Frame> work_;     // scratch for advance()
};

}  // namespace loom::generate
