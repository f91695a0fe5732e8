// The retriever that in-context RALM and REPLUG query: the last tokens of the text so far in, the
// top k documents out, each as the token ids to prepend and the retriever's score. BM25 (what Ram
// et al. 2023 found best for in-context RALM) implements it over a set of documents; a dense or
// hybrid retriever fits the same interface.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "generate/generator.h"
#include "rag/replug.h"
#include "retrieval/bm25.h"
#include "retrieval/chunker.h"

namespace loom::rag {

class DocRetriever {
 public:
  virtual ~DocRetriever() = default;
  // The top k documents for a query given as token ids (best first; fewer when fewer match).
  virtual std::vector<ReplugDocument> retrieve(std::span<const int32_t> query, size_t k) const = 0;
};

// Text of token ids, as generation prints it (codec.piece_text after each previous token).
std::string decode_tokens(const generate::TokenCodec& codec, std::span<const int32_t> tokens);

// BM25 over documents given as texts; a query's tokens are decoded back to text, and a document
// is prepended as its codec encoding (BOS first). The codec must outlive the retriever.
class Bm25DocRetriever final : public DocRetriever {
 public:
  Bm25DocRetriever(const std::vector<std::string>& texts, const generate::TokenCodec& codec,
                   const retrieval::Bm25Params& params);
  std::vector<ReplugDocument> retrieve(std::span<const int32_t> query, size_t k) const override;
  size_t size() const { return tokens_.size(); }

 private:
  const generate::TokenCodec& codec_;
  retrieval::Bm25Index index_;
  std::vector<std::vector<int32_t>> tokens_;  // per document
};

// Documents named by their position ("0", "1", ...), so a hit's id leads back to its text and
// tokens. An empty set is a loom::Error.
std::vector<retrieval::Document> numbered_documents(const std::vector<std::string>& texts);

// Retrieval documents from a file: JSON Lines ({"_id", "title", "text"} per line, a BEIR
// corpus.jsonl; the title, when not empty, goes before the text with a space) when the name ends
// in .jsonl, else one document per non-blank line. No document at all is a loom::Error naming the
// file.
std::vector<std::string> load_documents(const std::string& path);

// Passages of one long text (retrieval/chunker.h's modes; kTokens counts the codec's tokens and
// cuts each line of the text on its own, so no passage spans a line break).
// No passage is a loom::Error naming `name`.
std::vector<std::string> chunk_passages(const std::string& text, const std::string& name,
                                        retrieval::ChunkOptions options,
                                        const generate::TokenCodec& codec);

}  // namespace loom::rag
