#include "rag/doc_retriever.h"

#include <algorithm>
#include <string_view>

#include "core/error.h"
#include "core/lines.h"
#include "core/mapped_file.h"
#include "retrieval/beir.h"

namespace loom::rag {

namespace {

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n\f\v") == s.npos; }

// The text's lines (without their '\n').
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

}  // namespace

std::vector<retrieval::Document> numbered_documents(const std::vector<std::string>& texts) {
  if (texts.empty()) throw Error("retrieval: the document set is empty");
  std::vector<retrieval::Document> docs(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    docs[i].id = std::to_string(i);
    docs[i].text = texts[i];
  }
  return docs;
}

std::string decode_tokens(const generate::TokenCodec& codec, std::span<const int32_t> tokens) {
  std::string out;
  int32_t prev = codec.bos_id();
  for (int32_t t : tokens) {
    out += codec.piece_text(prev, t);
    prev = t;
  }
  return out;
}

Bm25DocRetriever::Bm25DocRetriever(const std::vector<std::string>& texts,
                                   const generate::TokenCodec& codec,
                                   const retrieval::Bm25Params& params)
    : codec_(codec), index_(numbered_documents(texts), params) {
  tokens_.reserve(texts.size());
  for (const std::string& t : texts) tokens_.push_back(codec.encode(t, true));
}

std::vector<ReplugDocument> Bm25DocRetriever::retrieve(std::span<const int32_t> query,
                                                       size_t k) const {
  std::vector<ReplugDocument> out;
  for (const retrieval::ScoredDoc& hit : index_.search(decode_tokens(codec_, query), k))
    out.push_back({tokens_[std::stoul(hit.docid)], hit.score});
  return out;
}

std::vector<std::string> load_documents(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::string> docs;
  if (path.ends_with(".jsonl")) {
    for (const retrieval::Document& d : retrieval::parse_jsonl_documents(text, path, false, {}))
      docs.push_back(d.title.empty() ? d.text : d.title + " " + d.text);
  } else {
    for_each_nonblank_line(text, [&](std::string_view line, size_t) { docs.emplace_back(line); });
  }
  if (docs.empty()) throw Error(path + ": no retrieval documents (expected at least one)");
  return docs;
}

std::vector<std::string> chunk_passages(const std::string& text, const std::string& name,
                                        retrieval::ChunkOptions options,
                                        const generate::TokenCodec& codec) {
  auto count = [&](std::string_view s) {
    return static_cast<int64_t>(codec.encode(s, false).size());
  };
  // Token windows are cut line by line: the chunker's search for a window's end encodes up to
  // the rest of its text, which is quadratic over a whole corpus in one piece.
  const bool by_line = options.mode == retrieval::ChunkMode::kTokens;
  std::vector<std::string> passages;
  for (std::string_view part : by_line ? lines_of(text) : std::vector<std::string_view>{text}) {
    options.max_bytes = std::max<int64_t>(options.max_bytes, static_cast<int64_t>(part.size()));
    for (const retrieval::ChunkSpan& c : retrieval::chunk_text(part, options, count, name)) {
      const std::string_view p = part.substr(c.begin, static_cast<size_t>(c.end - c.begin));
      if (!blank(p)) passages.emplace_back(p);
    }
  }
  if (passages.empty()) throw Error(name + ": no passages to retrieve (the text is blank)");
  return passages;
}

}  // namespace loom::rag
