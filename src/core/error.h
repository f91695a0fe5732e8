// loom::Error for bad input and I/O; LOOM_ASSERT for programmer bugs (STYLE.md, "Errors").
#pragma once

#include <stdexcept>
#include <string>

namespace loom {

// Thrown for anything the caller or a file got wrong. The message names the file, the field or
// byte offset, and what was expected; edges (CLI, server, bindings) print it as one line.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);
inline std::string assert_msg() { return {}; }
inline std::string assert_msg(const std::string& s) { return s; }

}  // namespace loom

// A broken invariant inside Loom: print where and abort. Never used for input validation.
#define LOOM_ASSERT(cond, ...)                                                  \
  do {                                                                          \
    if (!(cond)) ::loom::assert_fail(#cond, __FILE__, __LINE__, ::loom::assert_msg(__VA_ARGS__)); \
  } while (0)
