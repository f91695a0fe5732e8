// Exact search over every stored vector: the oracle the approximate indexes are measured against.
#pragma once

#include "index/index.h"

namespace loom::index {

class FlatIndex : public Index {
 public:
  FlatIndex(int64_t dim, Metric metric) : Index(dim, metric) {}
  std::string_view kind() const override { return "flat"; }
  void write_sections(FileWriter&) const override {}
  void read_sections(const FileReader&) override {}

 protected:
  void insert_slots(uint32_t, ThreadPool*) override {}
  void search_one(const float* q, int64_t k, int64_t, const SlotFilter& accept,
                  std::vector<Neighbor>* out) const override {
    exact_search(store_, q, k, accept, out);
  }
  bool exact() const override { return true; }
};

}  // namespace loom::index
