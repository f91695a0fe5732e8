// A definition-retrieval task built from a glossary: a two-column TSV, `term<TAB>definition` per
// line (FOLDOC's foldoc.tsv). The query is the term, its one relevant document is its definition.
// Only held-out entries take part (queries and documents alike): those whose 1-based line number
// is divisible by `holdout_every` (10: every tenth entry, the split domain adaptation trains
// around; 1: every entry). Ids are the line numbers, so query "30" is answered by document "30".
#pragma once

#include <cstdint>
#include <string>

#include "retrieval/beir.h"

namespace loom::retrieval {

// Lines without a tab, with an empty term or definition, or (when skipping) anything else
// malformed are errors naming name:line, or skipped and listed when options say so. Blank lines
// are skipped silently. A held-out set with no entry is an error.
BeirDataset definitions_task(const std::string& tsv, const std::string& name, int64_t holdout_every,
                             const LoadOptions& options = {});
BeirDataset load_definitions_task(const std::string& path, int64_t holdout_every,
                                  const LoadOptions& options = {});

}  // namespace loom::retrieval
