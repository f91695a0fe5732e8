// Document-store JSONL ingest and chunking: any bytes parse or throw loom::Error, never crash;
// every chunk lies inside its document's text.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "retrieval/chunker.h"
#include "retrieval/doc_jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loom::retrieval;
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<DocInput> docs;
  try {
    docs = parse_documents_jsonl(text, "fuzz.jsonl");
  } catch (const loom::Error&) {
    docs = {{"raw", text, "{}"}};  // chunk the raw bytes instead
  }
  auto words = [](std::string_view t) { return static_cast<int64_t>(t.size() / 4 + 1); };
  for (const DocInput& d : docs) {
    for (ChunkMode mode : {ChunkMode::kParagraph, ChunkMode::kSentence, ChunkMode::kTokens}) {
      ChunkOptions o;
      o.mode = mode;
      o.max_tokens = 1 + static_cast<int64_t>(size % 7);
      o.overlap = static_cast<int64_t>(size % 3) % o.max_tokens;
      try {
        for (const ChunkSpan& c : chunk_text(d.text, o, words, d.id)) {
          if (c.begin < 0 || c.end <= c.begin || c.end > static_cast<int64_t>(d.text.size()))
            __builtin_trap();
        }
      } catch (const loom::Error&) {
      }
    }
  }
  return 0;
}
