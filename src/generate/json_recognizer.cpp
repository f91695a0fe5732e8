// JsonRecognizer (json_schema.h): a pushdown automaton over bytes. A frame is one value being read:
// its schema node, a phase, and counters a, b, c whose meaning depends on the node's kind:
//   object: a = first property index still allowed, b = key bytes matched, c = candidate property
//   array: a = items so far
//   string: a = code points so far, b = UTF-8 continuation bytes (or \u digits) still due,
//           c = the next continuation byte's range (lo << 8 | hi), or the \u value so far
//   number: a = digits in the current part
//   literal: a = a literal the bytes so far begin, b = bytes matched
#include <algorithm>

#include "core/error.h"
#include "generate/json_schema.h"

namespace loom::generate {

namespace {

using Kind = JsonSchema::Kind;
using Node = JsonSchema::Node;
using Frame = JsonRecognizer::Frame;

enum ObjectPhase {
  kObjOpen,
  kObjFirst,
  kObjKey,
  kObjKeyFree,
  kObjColon,
  kObjValue,
  kObjAfter,
  kObjNext
};
enum ArrayPhase { kArrOpen, kArrFirst, kArrItem, kArrAfter, kArrNext };
enum StringPhase { kStrOpen, kStrBody, kStrEscape, kStrHex, kStrUtf8 };
enum NumberPhase {
  kNumStart,
  kNumMinus,
  kNumZero,
  kNumInt,
  kNumDot,
  kNumFrac,
  kNumExp,
  kNumExpSign,
  kNumExpDigit
};

constexpr int32_t kMaxDigits = 18, kMaxExponentDigits = 2;
constexpr size_t kMaxParses = 4096;
constexpr int32_t kContinuation = 0x80 << 8 | 0xBF;

bool digit(unsigned char c) { return c >= '0' && c <= '9'; }

int hex_value(unsigned char c) {
  if (digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A UTF-8 lead byte: the continuation bytes it needs and the first one's range (no overlong
// forms, no surrogates, nothing above U+10FFFF); 0 when c leads nothing.
int utf8_lead(unsigned char c, int32_t& range) {
  range = kContinuation;
  if (c >= 0xC2 && c <= 0xDF) return 1;
  if (c == 0xE0) range = 0xA0 << 8 | 0xBF;
  if (c == 0xED) range = 0x80 << 8 | 0x9F;
  if (c >= 0xE0 && c <= 0xEF) return 2;
  if (c == 0xF0) range = 0x90 << 8 | 0xBF;
  if (c == 0xF4) range = 0x80 << 8 | 0x8F;
  if (c >= 0xF0 && c <= 0xF4) return 3;
  return 0;
}

// The literal of n the bytes so far (b of literals[a]) could continue with, by index; -1: none.
int32_t literal_extension(const Node& n, const Frame& f, int c) {
  const std::string& cur = n.literals[static_cast<size_t>(f.a)];
  const auto b = static_cast<size_t>(f.b);
  for (size_t j = 0; j < n.literals.size(); ++j) {
    const std::string& l = n.literals[j];
    if (l.size() > b && l.compare(0, b, cur, 0, b) == 0 &&
        (c < 0 || static_cast<unsigned char>(l[b]) == c))
      return static_cast<int32_t>(j);
  }
  return -1;
}

bool literal_exact(const Node& n, const Frame& f) {
  const std::string& cur = n.literals[static_cast<size_t>(f.a)];
  const auto b = static_cast<size_t>(f.b);
  return std::any_of(n.literals.begin(), n.literals.end(), [&](const std::string& l) {
    return l.size() == b && l.compare(0, b, cur, 0, b) == 0;
  });
}

bool number_accepting(int32_t phase) {
  return phase == kNumZero || phase == kNumInt || phase == kNumFrac || phase == kNumExpDigit;
}

// A parent whose child value just ended moves on.
void child_done(std::vector<Frame>& stack, const JsonSchema& s) {
  if (stack.empty()) return;
  Frame& p = stack.back();
  if (s.node(p.node).kind == Kind::kObject) {
    p.phase = p.phase == kObjKeyFree ? kObjColon : kObjAfter;
  } else {
    p.phase = kArrAfter;
    ++p.a;
  }
}

}  // namespace

JsonRecognizer::JsonRecognizer(const JsonSchema& schema)
    : schema_(&schema), frames_{{schema.root(), 0, 0, 0, 0}}, ends_{1} {}

bool JsonRecognizer::feed(std::string_view bytes) {
  JsonRecognizer next(*schema_);
  for (char ch : bytes) {
    if (!next.advance(*this, static_cast<unsigned char>(ch))) {
      frames_.clear();
      ends_.clear();
      return false;
    }
    std::swap(frames_, next.frames_);
    std::swap(ends_, next.ends_);
  }
  return !dead();
}

bool JsonRecognizer::advance(const JsonRecognizer& from, unsigned char c) {
  LOOM_ASSERT(&from != this, "advance from itself");
  schema_ = from.schema_;
  frames_.clear();
  ends_.clear();
  uint32_t begin = 0;
  for (uint32_t end : from.ends_) {
    work_.assign(from.frames_.begin() + begin, from.frames_.begin() + end);
    step(work_, c);
    begin = end;
  }
  return !ends_.empty();
}

bool JsonRecognizer::ends_by_lookahead(const Frame& f) const {
  const Node& n = schema_->node(f.node);
  if (n.kind == Kind::kNumber || n.kind == Kind::kInteger) return number_accepting(f.phase);
  return n.kind == Kind::kLiteral && f.b > 0 && literal_exact(n, f);
}

bool JsonRecognizer::complete() const {
  uint32_t begin = 0;
  for (uint32_t end : ends_) {
    if (end == begin || (end - begin == 1 && ends_by_lookahead(frames_[begin]))) return true;
    begin = end;
  }
  return false;
}

bool JsonRecognizer::finished() const {
  return !ends_.empty() && frames_.empty();  // one parse (they are distinct), and it is over
}

void JsonRecognizer::emit(const std::vector<Frame>& stack) {
  uint32_t begin = 0;
  for (uint32_t end : ends_) {
    if (end - begin == stack.size() &&
        std::equal(stack.begin(), stack.end(), frames_.begin() + begin))
      return;  // the same parse reached by another path
    begin = end;
  }
  if (ends_.size() >= kMaxParses)
    throw Error("json schema: more than " + std::to_string(kMaxParses) +
                " parses at once (anyOf too ambiguous)");
  frames_.insert(frames_.end(), stack.begin(), stack.end());
  ends_.push_back(static_cast<uint32_t>(frames_.size()));
}

void JsonRecognizer::step(std::vector<Frame>& stack, unsigned char c) {
  while (!stack.empty()) {
    switch (feed_frame(stack, c)) {
      case Step::kDead:
        return;
      case Step::kConsumed:
        return emit(stack);
      case Step::kDone:
        stack.pop_back();
        child_done(stack, *schema_);
        return emit(stack);
      case Step::kDoneRefeed:  // the byte ends this value and belongs to its parent
        stack.pop_back();
        child_done(stack, *schema_);
        break;
      case Step::kRefeed:
        break;
      case Step::kBranch:
        for (int32_t alt : schema_->node(stack.back().node).alternatives) {
          std::vector<Frame> branch = stack;
          branch.back().node = alt;
          step(branch, c);
        }
        return;
    }
  }
}

JsonRecognizer::Step JsonRecognizer::feed_frame(std::vector<Frame>& stack, unsigned char c) const {
  Frame& f = stack.back();
  const Node& n = schema_->node(f.node);
  switch (n.kind) {
    case Kind::kAnyOf:
      return Step::kBranch;
    case Kind::kAny:  // the first byte says which type
      if (c == '{')
        f.node = JsonSchema::kFreeObject;
      else if (c == '[')
        f.node = JsonSchema::kAnyArray;
      else if (c == '"')
        f.node = JsonSchema::kAnyString;
      else if (c == '-' || digit(c))
        f.node = JsonSchema::kAnyNumber;
      else if (c == 't' || c == 'f')
        f.node = JsonSchema::kBoolean;
      else if (c == 'n')
        f.node = JsonSchema::kNull;
      else
        return Step::kDead;
      return Step::kRefeed;
    case Kind::kObject:
      return feed_object(stack, c);
    case Kind::kArray:
      return feed_array(stack, c);
    case Kind::kString:
      return feed_string(f, n, c);
    case Kind::kNumber:
    case Kind::kInteger:
      return feed_number(f, n.kind == Kind::kInteger, c);
    case Kind::kLiteral:
      return feed_literal(f, n, c);
  }
  return Step::kDead;
}

JsonRecognizer::Step JsonRecognizer::feed_object(std::vector<Frame>& stack, unsigned char c) const {
  Frame& f = stack.back();
  const Node& n = schema_->node(f.node);
  const auto n_props = static_cast<int32_t>(n.properties.size());
  const bool can_close = n.free || n.next_required[static_cast<size_t>(f.a)] == n_props;
  switch (f.phase) {
    case kObjOpen:
      if (c != '{') return Step::kDead;
      f.phase = kObjFirst;
      return Step::kConsumed;
    case kObjFirst:
    case kObjNext:
      if (c == '}' && f.phase == kObjFirst && can_close) return Step::kDone;
      if (c != '"') return Step::kDead;
      if (n.free) {
        f.phase = kObjKeyFree;
        stack.push_back({JsonSchema::kAnyString, 0, 0, 0, 0});
        return Step::kRefeed;
      }
      if (f.a >= n_props) return Step::kDead;
      f.phase = kObjKey;
      f.b = 0;
      f.c = f.a;
      return feed_key(f, n, c);
    case kObjKey:
      return feed_key(f, n, c);
    case kObjColon: {
      if (c != ':') return Step::kDead;
      f.phase = kObjValue;
      const int32_t child =
          n.free ? JsonSchema::kAnyValue : n.properties[static_cast<size_t>(f.c)].node;
      stack.push_back({child, 0, 0, 0, 0});
      return Step::kConsumed;
    }
    case kObjAfter:
      if (c == ',' && (n.free || f.a < n_props)) {
        f.phase = kObjNext;
        return Step::kConsumed;
      }
      return c == '}' && can_close ? Step::kDone : Step::kDead;
    default:
      return Step::kDead;  // a child is being read: never fed here
  }
}

// The next byte of a property key: the first allowed property (index in [a, next required])
// whose quoted key begins with the bytes so far. Quoted keys are prefix-free, so the closing
// quote settles which one.
JsonRecognizer::Step JsonRecognizer::feed_key(Frame& f, const Node& n, unsigned char c) const {
  const int32_t last = std::min<int32_t>(n.next_required[static_cast<size_t>(f.a)],
                                         static_cast<int32_t>(n.properties.size()) - 1);
  const std::string& cur = n.properties[static_cast<size_t>(f.c)].key;
  const auto b = static_cast<size_t>(f.b);
  for (int32_t j = f.a; j <= last; ++j) {
    const std::string& key = n.properties[static_cast<size_t>(j)].key;
    if (key.size() > b && key.compare(0, b, cur, 0, b) == 0 &&
        static_cast<unsigned char>(key[b]) == c) {
      f.c = j;
      if (++f.b == static_cast<int32_t>(key.size())) {
        f.phase = kObjColon;
        f.a = j + 1;
      }
      return Step::kConsumed;
    }
  }
  return Step::kDead;
}

JsonRecognizer::Step JsonRecognizer::feed_array(std::vector<Frame>& stack, unsigned char c) const {
  Frame& f = stack.back();
  const Node& n = schema_->node(f.node);
  switch (f.phase) {
    case kArrOpen:
      if (c != '[') return Step::kDead;
      f.phase = kArrFirst;
      return Step::kConsumed;
    case kArrFirst:
      if (c == ']' && n.min_count == 0) return Step::kDone;
      if (n.max_count == 0) return Step::kDead;
      [[fallthrough]];
    case kArrNext:
      f.phase = kArrItem;
      stack.push_back({n.items, 0, 0, 0, 0});
      return Step::kRefeed;
    case kArrAfter:
      if (c == ',' && (n.max_count < 0 || f.a < n.max_count)) {
        f.phase = kArrNext;
        return Step::kConsumed;
      }
      return c == ']' && f.a >= n.min_count ? Step::kDone : Step::kDead;
    default:
      return Step::kDead;
  }
}

JsonRecognizer::Step JsonRecognizer::feed_string(Frame& f, const Node& n, unsigned char c) const {
  const bool room = n.max_count < 0 || f.a < n.max_count;
  switch (f.phase) {
    case kStrOpen:
      if (c != '"') return Step::kDead;
      f.phase = kStrBody;
      return Step::kConsumed;
    case kStrBody:
      if (c == '"') return f.a >= n.min_count ? Step::kDone : Step::kDead;
      if (!room || c < 0x20) return Step::kDead;
      if (c == '\\') {
        f.phase = kStrEscape;
        return Step::kConsumed;
      }
      if (c >= 0x80) {
        f.b = utf8_lead(c, f.c);
        if (f.b == 0) return Step::kDead;
        f.phase = kStrUtf8;
      }
      ++f.a;
      return Step::kConsumed;
    case kStrUtf8:
      if (c < (f.c >> 8) || c > (f.c & 0xFF)) return Step::kDead;
      f.c = kContinuation;
      if (--f.b == 0) f.phase = kStrBody;
      return Step::kConsumed;
    case kStrEscape:
      if (c == 'u') {
        f.phase = kStrHex;
        f.b = 0;
        f.c = 0;
        return Step::kConsumed;
      }
      if (std::string_view("\"\\/bfnrt").find(static_cast<char>(c)) == std::string_view::npos)
        return Step::kDead;
      f.phase = kStrBody;
      ++f.a;
      return Step::kConsumed;
    default: {  // kStrHex
      const int v = hex_value(c);
      if (v < 0) return Step::kDead;
      f.c = f.c * 16 + v;
      if (++f.b < 4) return Step::kConsumed;
      if (f.c >= 0xD800 && f.c <= 0xDFFF) return Step::kDead;
      f.phase = kStrBody;
      ++f.a;
      return Step::kConsumed;
    }
  }
}

JsonRecognizer::Step JsonRecognizer::feed_number(Frame& f, bool integer, unsigned char c) const {
  auto go = [&](int32_t phase, int32_t digits) {
    f.phase = phase;
    f.a = digits;
    return Step::kConsumed;
  };
  const bool d = digit(c);
  const bool exp = !integer && (c == 'e' || c == 'E');
  switch (f.phase) {
    case kNumStart:
      if (c == '-') return go(kNumMinus, 0);
      [[fallthrough]];
    case kNumMinus:
      if (c == '0') return go(kNumZero, 1);
      return d ? go(kNumInt, 1) : Step::kDead;
    case kNumInt:
      if (d && f.a < kMaxDigits) return go(kNumInt, f.a + 1);
      [[fallthrough]];
    case kNumZero:
      if (c == '.' && !integer) return go(kNumDot, 0);
      return exp ? go(kNumExp, 0) : Step::kDoneRefeed;
    case kNumDot:
      return d ? go(kNumFrac, 1) : Step::kDead;
    case kNumFrac:
      if (d && f.a < kMaxDigits) return go(kNumFrac, f.a + 1);
      return exp ? go(kNumExp, 0) : Step::kDoneRefeed;
    case kNumExp:
      if (c == '+' || c == '-') return go(kNumExpSign, 0);
      [[fallthrough]];
    case kNumExpSign:
      return d ? go(kNumExpDigit, 1) : Step::kDead;
    default:  // kNumExpDigit
      return d && f.a < kMaxExponentDigits ? go(kNumExpDigit, f.a + 1) : Step::kDoneRefeed;
  }
}

JsonRecognizer::Step JsonRecognizer::feed_literal(Frame& f, const Node& n, unsigned char c) const {
  const int32_t j = literal_extension(n, f, c);
  if (j < 0) return f.b > 0 && literal_exact(n, f) ? Step::kDoneRefeed : Step::kDead;
  f.a = j;
  ++f.b;
  // Done at once unless a longer literal could still follow (enum [1, 12] after "1").
  return literal_exact(n, f) && literal_extension(n, f, -1) < 0 ? Step::kDone : Step::kConsumed;
}

}  // namespace loom::generate
