// Opens a SentencePiece .model or llama2.c tokenizer .bin as a Tokenizer (see the .cpp).
#pragma once

#include <memory>
#include <string>

#include "text/tokenizer.h"

namespace loom::text {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& path);

}  // namespace loom::text
