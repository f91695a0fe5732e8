// Documents for a collection as JSON Lines, one object per line:
//   {"id": "d1", "title": "optional", "text": "...", "metadata": {"year": 1990, "lang": "en"}}
// "_id" (BEIR) is accepted for "id"; an integer id is used as its decimal text. The title, when
// present and not empty, is prepended to the text with a space (BEIR's convention). Blank lines
// are skipped. Anything else is a loom::Error naming name:line and what was expected.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "retrieval/doc_store.h"

namespace loom::retrieval {

std::vector<DocInput> parse_documents_jsonl(std::string_view text, const std::string& name);

}  // namespace loom::retrieval
