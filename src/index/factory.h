// Builds an empty index of a named kind ("flat", "hnsw", "vamana") with default or given knobs.
#pragma once

#include <memory>
#include <string_view>

#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "index/vamana_index.h"

namespace loom::index {

struct IndexOptions {
  HnswParams hnsw;
  VamanaParams vamana;
};

std::unique_ptr<Index> make_index(std::string_view kind, int64_t dim, Metric metric,
                                  const IndexOptions& options = {});

}  // namespace loom::index
