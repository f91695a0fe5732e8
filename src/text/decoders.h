// Decoders: ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder,
// Sequence. Each rewrites the list of token strings; the pipeline joins the result.
#pragma once

#include <memory>

#include "text/components.h"
#include "text/json_util.h"

namespace loom::text {

std::unique_ptr<Decoder> decoder_from_json(const JsonNode& j);
std::unique_ptr<Decoder> make_byte_level_decoder();
std::unique_ptr<Decoder> make_wordpiece_decoder(const std::string& prefix, bool cleanup);

}  // namespace loom::text
