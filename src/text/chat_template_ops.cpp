// Arithmetic, subscripts, slices, string methods, filters and tests of the chat-template Jinja
// subset, each as Python/jinja2 does it for the types chat templates use.
#include <algorithm>
#include <limits>

#include "text/chat_template_value.h"

namespace loom::text::jinja {
namespace {

void check_overflow(bool overflow) {
  if (overflow) throw EvalError("integer overflow (beyond 64 bits)");
}

int64_t int_arith(const std::string& op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op == "+") check_overflow(__builtin_add_overflow(x, y, &r));
  if (op == "-") check_overflow(__builtin_sub_overflow(x, y, &r));
  if (op == "*") check_overflow(__builtin_mul_overflow(x, y, &r));
  if (op == "+" || op == "-" || op == "*") return r;
  if (op == "//" || op == "%") {
    if (y == 0) throw EvalError("integer division or modulo by zero");
    if (x == std::numeric_limits<int64_t>::min() && y == -1) check_overflow(true);
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
      --q;
      m += y;
    }
    return op == "//" ? q : m;
  }
  if (op == "**") {
    if (y < 0) throw EvalError("negative exponent gives a float, which is not supported");
    if (x == 0 || x == 1) return y == 0 ? 1 : x;
    if (x == -1) return y % 2 == 0 ? 1 : -1;
    int64_t p = 1;  // |x| >= 2 overflows within 63 steps
    for (int64_t k = 0; k < y; ++k) check_overflow(__builtin_mul_overflow(p, x, &p));
    return p;
  }
  throw EvalError("'" + op + "' gives a float, which is not supported");
}

// Python's whitespace for str.strip(): ASCII \t\n\v\f\r, \x1c-\x1f, space and Unicode spaces.
bool is_py_space(const std::string& s, size_t b, size_t e) {
  const std::string_view cp(s.data() + b, e - b);
  if (cp.size() == 1) {
    const unsigned char c = cp[0];
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
  }
  static const char* kSpaces[] = {"\u0085", "\u00a0", "\u1680", "\u2000", "\u2001",
                                  "\u2002", "\u2003", "\u2004", "\u2005", "\u2006",
                                  "\u2007", "\u2008", "\u2009", "\u200a", "\u2028",
                                  "\u2029", "\u202f", "\u205f", "\u3000"};
  return std::any_of(std::begin(kSpaces), std::end(kSpaces),
                     [&](const char* w) { return cp == w; });
}

bool in_chars(const std::string& s, size_t b, size_t e, const std::string* chars) {
  if (!chars) return is_py_space(s, b, e);
  const std::string cp = s.substr(b, e - b);
  const std::vector<size_t> at = code_points(*chars);
  for (size_t k = 0; k + 1 < at.size(); ++k)
    if (chars->compare(at[k], at[k + 1] - at[k], cp) == 0) return true;
  return false;
}

// str.strip/lstrip/rstrip with optional characters (whitespace when chars is null).
std::string strip(const std::string& s, bool left, bool right, const std::string* chars) {
  const std::vector<size_t> at = code_points(s);
  size_t lo = 0, hi = at.size() - 1;  // code point range [lo, hi)
  while (left && lo < hi && in_chars(s, at[lo], at[lo + 1], chars)) ++lo;
  while (right && hi > lo && in_chars(s, at[hi - 1], at[hi], chars)) --hi;
  return s.substr(at[lo], at[hi] - at[lo]);
}

std::string change_case(const std::string& s, bool upper) {
  std::string r = s;
  for (char& c : r) {
    if (static_cast<unsigned char>(c) >= 0x80)
      throw EvalError("upper/lower of non-ASCII text is not supported");
    c = static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
  }
  return r;
}

const std::string& str_arg(const std::vector<Value>& args, size_t k, const std::string& what) {
  if (k >= args.size() || args[k].kind != Value::Str)
    throw EvalError(what + ": expected a string argument");
  return args[k].s;
}

void arity(const std::vector<Value>& args, size_t lo, size_t hi, const std::string& what) {
  if (args.size() < lo || args.size() > hi)
    throw EvalError(what + ": " + std::to_string(args.size()) + " arguments, expected " +
                    std::to_string(lo) + (hi > lo ? ".." + std::to_string(hi) : ""));
}

// Python's slice.indices(): resolves start/stop/step against a length.
void slice_bounds(int64_t n, const Value* a, const Value* b, const Value* c, int64_t* start,
                  int64_t* stop, int64_t* step) {
  auto num = [](const Value* v) -> const Value* {
    if (!v || v->kind == Value::None) return nullptr;
    if (v->kind != Value::Int && v->kind != Value::Bool)
      throw EvalError("slice bounds must be integers");
    return v;
  };
  a = num(a), b = num(b), c = num(c);
  *step = c ? as_int(*c) : 1;
  if (*step == 0) throw EvalError("slice step cannot be zero");
  const int64_t lo = *step < 0 ? -1 : 0, hi = *step < 0 ? n - 1 : n;
  auto fix = [&](const Value* v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = as_int(*v);
    if (x < 0) x = std::max(x + n, lo);
    return std::min(x, hi);
  };
  *start = fix(a, *step < 0 ? hi : lo);
  *stop = fix(b, *step < 0 ? lo : hi);
}

}  // namespace

Value arith(const std::string& op, const Value& a, const Value& b) {
  if (is_number(a) && is_number(b)) return Value::integer(int_arith(op, as_int(a), as_int(b)));
  if (op == "+" && a.kind == Value::Str && b.kind == Value::Str) return Value::str(a.s + b.s);
  if (op == "+" && a.kind == Value::ListK && b.kind == Value::ListK) {
    List r = *a.list;
    r.insert(r.end(), b.list->begin(), b.list->end());
    return Value::of_list(std::move(r));
  }
  throw EvalError("'" + op + "' on a " + kind_name(a) + " and a " + kind_name(b) +
                  " is not supported");
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.kind == Value::Undefined) throw EvalError("subscript of an undefined value");
  if (obj.kind == Value::DictK) {
    const Value* v = key.kind == Value::Str ? dict_find(*obj.dict, key.s) : nullptr;
    return v ? *v : Value{};
  }
  if ((obj.kind == Value::ListK || obj.kind == Value::Str) && is_number(key)) {
    const int64_t n = length(obj);
    int64_t k = as_int(key);
    if (k < 0) k += n;
    if (k < 0 || k >= n) return Value{};  // jinja2: a failed lookup is undefined
    if (obj.kind == Value::ListK) return (*obj.list)[k];
    const std::vector<size_t> at = code_points(obj.s);
    return Value::str(obj.s.substr(at[k], at[k + 1] - at[k]));
  }
  return Value{};
}

Value slice(const Value& obj, const Value* a, const Value* b, const Value* c) {
  if (obj.kind != Value::ListK && obj.kind != Value::Str)
    throw EvalError(std::string("slice of a ") + kind_name(obj));
  int64_t start, stop, step;
  slice_bounds(length(obj), a, b, c, &start, &stop, &step);
  List items;
  std::string text;
  const std::vector<size_t> at =
      obj.kind == Value::Str ? code_points(obj.s) : std::vector<size_t>{};
  for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
    if (obj.kind == Value::ListK)
      items.push_back((*obj.list)[k]);
    else
      text += obj.s.substr(at[k], at[k + 1] - at[k]);
  }
  return obj.kind == Value::ListK ? Value::of_list(std::move(items)) : Value::str(std::move(text));
}

Value call_method(const std::string& name, const Value& self, const std::vector<Value>& args) {
  if (self.kind != Value::Str)
    throw EvalError("method '" + name + "()' of a " + kind_name(self) + " is not supported");
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    arity(args, 0, 1, name + "()");
    const std::string* chars = nullptr;
    if (!args.empty() && args[0].kind != Value::None) chars = &str_arg(args, 0, name + "()");
    return Value::str(strip(self.s, name != "rstrip", name != "lstrip", chars));
  }
  if (name == "upper" || name == "lower") {
    arity(args, 0, 0, name + "()");
    return Value::str(change_case(self.s, name == "upper"));
  }
  arity(args, 1, 1, name + "()");  // startswith / endswith
  const std::string& x = str_arg(args, 0, name + "()");
  const bool ok =
      x.size() <= self.s.size() &&
      (name == "startswith" ? self.s.compare(0, x.size(), x) == 0
                            : self.s.compare(self.s.size() - x.size(), x.size(), x) == 0);
  return Value::boolean(ok);
}

Value apply_filter(const std::string& name, const Value& v, const std::vector<Value>& args) {
  if (name == "default") {
    arity(args, 0, 2, "default");
    const bool use =
        v.kind == Value::Undefined || (args.size() == 2 && truthy(args[1]) && !truthy(v));
    return use ? (args.empty() ? Value::str("") : args[0]) : v;
  }
  arity(args, 0, 0, name);
  if (name == "length" || name == "count")
    return Value::integer(v.kind == Value::Undefined ? 0 : length(v));
  if (name == "string") return Value::str(to_str(v));
  if (name == "trim") return Value::str(strip(to_str(v), true, true, nullptr));
  if (name == "upper" || name == "lower")
    return Value::str(change_case(to_str(v), name == "upper"));
  // first / last
  if (v.kind != Value::ListK && v.kind != Value::Str)
    throw EvalError("filter '" + name + "' of a " + kind_name(v));
  if (length(v) == 0) return Value{};
  return get_item(v, Value::integer(name == "first" ? 0 : -1));
}

bool apply_test(const std::string& name, const Value& v) {
  if (name == "defined") return v.kind != Value::Undefined;
  if (name == "undefined") return v.kind == Value::Undefined;
  if (name == "none") return v.kind == Value::None;
  if (name == "string") return v.kind == Value::Str;
  if (name == "number" || name == "integer")
    return is_number(v) && !(name == "integer" && v.kind == Value::Bool);
  if (name == "boolean") return v.kind == Value::Bool;
  if (name == "mapping") return v.kind == Value::DictK;
  return v.kind == Value::ListK || v.kind == Value::Str || v.kind == Value::DictK;  // sequence
}

}  // namespace loom::text::jinja
