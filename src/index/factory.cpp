#include "index/factory.h"

#include <string>

#include "core/error.h"

namespace loom::index {

std::unique_ptr<Index> make_index(std::string_view kind, int64_t dim, Metric metric,
                                  const IndexOptions& options) {
  if (kind == "flat") return std::make_unique<FlatIndex>(dim, metric);
  if (kind == "hnsw") return std::make_unique<HnswIndex>(dim, metric, options.hnsw);
  if (kind == "vamana") return std::make_unique<VamanaIndex>(dim, metric, options.vamana);
  throw Error("unknown index type '" + std::string(kind) + "' (expected flat, hnsw or vamana)");
}

}  // namespace loom::index
