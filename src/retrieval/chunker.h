// Splits a document's text into chunks (children) that are embedded and indexed on their own; each
// chunk keeps its byte range in the parent document, so a hit leads back to its document.
//
//   none       the whole text is one chunk (none for a blank text)
//   paragraph  split at blank lines (runs of "\n\n"), empty paragraphs dropped
//   sentence   split after . ! ? followed by whitespace, and at blank lines
//   tokens     windows of at most max_tokens tokens of the collection's tokenizer, cut at
//              whitespace, each starting about `overlap` tokens before the previous one ended
//
// Chunks never cross the text's end; a text longer than max_bytes is rejected (a loom::Error
// naming the document), since one huge record would otherwise stall an ingest.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace loom::retrieval {

enum class ChunkMode { kNone, kParagraph, kSentence, kTokens };

struct ChunkOptions {
  ChunkMode mode = ChunkMode::kNone;
  int64_t max_tokens = 128;  // kTokens: tokens per chunk
  int64_t overlap = 16;      // kTokens: tokens shared with the previous chunk (< max_tokens)
  int64_t max_bytes = 1 << 20;
};

struct ChunkSpan {
  int64_t begin = 0, end = 0;  // bytes [begin, end) of the document's text
};

// Text -> number of tokens (the collection tokenizer's count, special tokens excluded or not, as
// long as it is consistent).
using TokenCountFn = std::function<int64_t(std::string_view)>;

ChunkMode parse_chunk_mode(const std::string& name);  // "none", "paragraph", "sentence", "tokens"
const char* chunk_mode_name(ChunkMode m);

// Chunks of text; count_tokens is needed for kTokens only. doc_id names the document in errors.
std::vector<ChunkSpan> chunk_text(std::string_view text, const ChunkOptions& options,
                                  const TokenCountFn& count_tokens, const std::string& doc_id);

}  // namespace loom::retrieval
