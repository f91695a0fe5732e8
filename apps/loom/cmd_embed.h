// Shared by `loom embed` and `loom eval retrieval`: the flags that turn a model into an embedder,
// and building the embedder from them (tokenizer, pooling from the model's files, overrides).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cli.h"
#include "embed/embedder.h"

namespace loom::cli {

// --model, --tokenizer, --pooling, --normalize, --no-normalize, --dims, --max-tokens.
std::vector<Flag> embedder_flags();

// Loads --model and its tokenizer (--tokenizer: SentencePiece .model / llama2.c .bin, or a
// tokenizer.json / vocab.txt / encoder.json; default: the GGUF's own vocabulary). Pooling comes
// from the model's files when they name one, else mean + L2; flags override. Prints one line on
// stderr saying which pooling is used and where it came from.
std::unique_ptr<embed::Embedder> make_embedder(const Args& a);

// Embeds texts with a progress bar on stderr (labelled `what`), and says there how many texts
// were truncated or empty. Returns (texts.size(), e.dim()).
std::vector<float> embed_with_progress(const embed::Embedder& e, std::span<const std::string> texts,
                                       ThreadPool& pool, const std::string& what,
                                       embed::EmbedStats* stats = nullptr);

}  // namespace loom::cli
