#include "retrieval/definitions.h"

#include "core/error.h"
#include "core/mapped_file.h"

namespace loom::retrieval {

BeirDataset definitions_task(const std::string& tsv, const std::string& name, int64_t holdout_every,
                             const LoadOptions& options) {
  if (holdout_every < 1) {
    throw Error(name + ": held-out step " + std::to_string(holdout_every) + ": expected >= 1");
  }
  BeirDataset ds;
  size_t pos = 0;
  int64_t no = 0;
  while (pos < tsv.size()) {
    size_t end = tsv.find('\n', pos);
    if (end == std::string::npos) end = tsv.size();
    std::string_view line(tsv.data() + pos, end - pos);
    pos = end + 1;
    ++no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || no % holdout_every != 0) continue;
    const size_t tab = line.find('\t');
    std::string what;
    if (tab == std::string_view::npos) {
      what = "expected term<TAB>definition, found no tab";
    } else if (tab == 0) {
      what = "empty term before the tab";
    } else if (tab + 1 == line.size()) {
      what = "empty definition after the tab";
    }
    if (!what.empty()) {
      const std::string where = name + ":" + std::to_string(no) + ": " + what;
      if (!options.skip_malformed) throw Error(where);
      if (options.issues) options.issues->push_back(where);
      continue;
    }
    const std::string id = std::to_string(no);
    // A definition holding further tabs keeps them as text.
    ds.corpus.push_back({id, "", std::string(line.substr(tab + 1))});
    ds.queries.push_back({id, std::string(line.substr(0, tab))});
    ds.qrels[id][id] = 1;
  }
  if (ds.queries.empty()) {
    throw Error(name + ": no held-out entry (lines whose number is divisible by " +
                std::to_string(holdout_every) + ")");
  }
  return ds;
}

BeirDataset load_definitions_task(const std::string& path, int64_t holdout_every,
                                  const LoadOptions& options) {
  return definitions_task(read_file(path), path, holdout_every, options);
}

}  // namespace loom::retrieval
