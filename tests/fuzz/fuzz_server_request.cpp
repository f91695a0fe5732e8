// `loom serve`'s request parsing (apps/server/request.cpp): any body parses or throws ApiError
// with a 4xx status, never crashes and never throws anything else.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/request.h"

namespace {

template <class F>
void expect_clean(F&& parse) {
  try {
    parse();
  } catch (const loom::server::ApiError& e) {
    if (e.status < 400 || e.status > 499) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  loom::server::RequestLimits limits;
  limits.max_inputs = 64;
  expect_clean([&] { loom::server::parse_completion_request(body, false, limits); });
  expect_clean([&] { loom::server::parse_completion_request(body, true, limits); });
  expect_clean([&] { loom::server::parse_embedding_request(body, limits); });
  expect_clean([&] { loom::server::parse_search_request(body, limits); });
  return 0;
}
