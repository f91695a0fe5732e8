// SentencePiece BPE -> Hugging Face tokenizer pipeline, the way tokenizers' LlamaConverter /
// SpmConverter do it, so a .model (or llama2.c .bin) tokenizer can take added tokens and be saved
// as tokenizer.json:
//   normalizer   [Replace(\A +| +\z -> ""), Replace( {2,} -> " ")]  (remove_extra_whitespaces)
//                Prepend("▁") (add_dummy_prefix), Replace(" " -> "▁") (escape_whitespaces)
//   model        BPE over every piece (id = piece index); merges: every split of a piece into two
//                pieces of the vocabulary, ordered by the merged piece's score (highest first,
//                ties in id order), byte_fallback and unk from the trainer spec, fuse_unk
//   post         TemplateProcessing "<s> $A" (BOS as SentencePiece users add it)
//   decoder      Replace("▁" -> " "), ByteFallback, Fuse, Strip(" ", 1, 0) (with a dummy prefix)
//   added tokens control and unknown pieces as special tokens, user-defined pieces as ordinary
//                added tokens (never split)
// Only the identity normaliser can be expressed (a precompiled charsmap such as nmt_nfkc has no
// equivalent stage here) and only BPE models; anything else is a loom::Error naming the file.
// Merges are generated only for NORMAL and USER_DEFINED pieces: SentencePiece never produces a
// control, unknown, byte or unused piece by merging.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "text/pipeline.h"
#include "text/sentencepiece_model.h"

namespace loom::text {

// The tokenizer.json document for a SentencePiece BPE model; `name` names the file in errors.
nlohmann::ordered_json sentencepiece_to_tokenizer_json(const SentencePieceModelProto& proto,
                                                       const std::string& name);

// The same as a live pipeline tokenizer (bos/eos ids from the trainer spec).
std::unique_ptr<PipelineTokenizer> sentencepiece_to_pipeline(const SentencePieceModelProto& proto,
                                                             const std::string& name);

// tokenizer_config.json content for a converted model: bos/eos/unk/pad token strings, as
// transformers' LlamaTokenizerFast writes them (and load_tokenizer reads them back).
std::string sentencepiece_tokenizer_config(const SentencePieceModelProto& proto);

}  // namespace loom::text
