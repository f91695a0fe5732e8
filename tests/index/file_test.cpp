// Index files: bit-identical round trips, identical answers, corruption and truncation caught by
// the checksums, and a committed version-1 file that must keep loading.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "core/mapped_file.h"
#include "index/factory.h"
#include "index/index_file.h"
#include "index/npy.h"
#include "index/synthetic.h"
#include "test_util.h"

namespace loom::index {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("loom_index_test_" + std::to_string(getpid()) + "_" + name))
      .string();
}

std::unique_ptr<Index> built(std::string_view kind, Metric m, int n = 400) {
  IndexOptions o;
  o.hnsw.M = 6;
  o.hnsw.ef_construction = 40;
  o.vamana.R = 12;
  o.vamana.L = 30;
  auto idx = make_index(kind, 12, m, o);
  auto v = clustered_vectors(n, 12, 6, 1, 77);
  std::vector<uint64_t> ids(n);
  for (int i = 0; i < n; ++i) ids[i] = 10'000 + 3 * i;
  idx->add(ids, v.data());
  return idx;
}

class FileKinds : public ::testing::TestWithParam<const char*> {};

TEST_P(FileKinds, SaveLoadIsBitIdenticalAndAnswersIdentically) {
  for (Metric m : {Metric::kInnerProduct, Metric::kL2, Metric::kCosine}) {
    auto idx = built(GetParam(), m);
    std::vector<uint64_t> gone{10'000, 10'003 + 3 * 50};
    idx->remove(gone);  // tombstones travel too
    std::string path = temp_path(std::string(GetParam()) + ".lidx");
    save_index(*idx, path);
    auto back = load_index(path);
    EXPECT_EQ(back->kind(), idx->kind());
    EXPECT_EQ(back->metric(), m);
    EXPECT_EQ(back->size(), idx->size());
    EXPECT_EQ(serialize_index(*back), read_file(path));
    auto q = clustered_vectors(30, 12, 6, 1, 78);
    auto a = idx->search(q.data(), 30, 8), b = back->search(q.data(), 30, 8);
    EXPECT_EQ(a.ids, b.ids);
    EXPECT_EQ(a.distances, b.distances);
    // No temporary files are left beside it.
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      EXPECT_EQ(e.path().string().find(path + ".tmp"), std::string::npos);
    }
    fs::remove(path);
  }
}

TEST_P(FileKinds, TruncatedOrCorruptedFilesAreRejectedWithAClearMessage) {
  auto idx = built(GetParam(), Metric::kL2, 100);
  std::string bytes = serialize_index(*idx);
  auto load_bytes = [](const std::string& b) {
    return deserialize_index(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "x.lidx");
  };
  EXPECT_NO_THROW(load_bytes(bytes));
  auto message = [&](const std::string& b) -> std::string {
    try {
      load_bytes(b);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  for (size_t cut : {size_t{0}, size_t{7}, size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
    std::string m = message(bytes.substr(0, cut));
    EXPECT_FALSE(m.empty()) << "truncation at " << cut << " accepted";
    EXPECT_NE(m.find("x.lidx"), std::string::npos) << m;
  }
  EXPECT_NE(message(bytes.substr(0, bytes.size() - 1)).find("truncated"), std::string::npos);
  // Flip one bit in every 97th byte (one at a time): all caught.
  for (size_t pos = 8; pos < bytes.size() - 8; pos += 97) {
    std::string b = bytes;
    b[pos] ^= 0x10;
    std::string m = message(b);
    EXPECT_FALSE(m.empty()) << "flip at " << pos << " accepted";
  }
  std::string b = bytes;
  b[bytes.size() / 2] ^= 1;
  EXPECT_NE(message(b).find("checksum"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Index, FileKinds, ::testing::Values("flat", "hnsw", "vamana"));

TEST(IndexFile, UnknownSectionsAreSkippedAndMissingOnesNamed) {
  FileWriter w;
  w.add(fourcc("ZZZZ"), "future");
  std::string bytes = w.finish();
  try {
    deserialize_index(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "y.lidx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing section META"), std::string::npos) << e.what();
  }
}

TEST(IndexFile, Crc32KnownValue) {
  // The standard check value of CRC-32/ISO-HDLC.
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
}

// tests/index/data/hnsw_v1.lidx was written by this build's version-1 writer (see
// WriteOldFormatFile): 60 vectors of dim 8 (clustered_vectors(60, 8, 4, 1, 2024)), ids 500 + 7 i,
// cosine, HNSW M=4 ef_construction=16, ids 500 and 535 removed. Later versions must still read it.
constexpr const char* kOldFile = "tests/index/data/hnsw_v1.lidx";

std::unique_ptr<Index> old_format_source() {
  IndexOptions o;
  o.hnsw.M = 4;
  o.hnsw.ef_construction = 16;
  auto idx = make_index("hnsw", 8, Metric::kCosine, o);
  auto v = clustered_vectors(60, 8, 4, 1, 2024);
  std::vector<uint64_t> ids(60);
  for (int i = 0; i < 60; ++i) ids[i] = 500 + 7 * i;
  idx->add(ids, v.data());
  std::vector<uint64_t> gone{500, 535};
  idx->remove(gone);
  return idx;
}

TEST(IndexFile, WriteOldFormatFile) {
  if (std::getenv("LOOM_WRITE_GOLDEN") == nullptr)
    GTEST_SKIP() << "set LOOM_WRITE_GOLDEN=1 to rewrite";
  save_index(*old_format_source(), std::string(loom::test::source_dir()) + "/" + kOldFile);
}

TEST(IndexFile, Version1FileStillLoadsAndAnswers) {
  std::string path = std::string(loom::test::source_dir()) + "/" + kOldFile;
  LOOM_REQUIRE_DATA(path);
  auto idx = load_index(path);
  EXPECT_EQ(idx->kind(), "hnsw");
  EXPECT_EQ(idx->metric(), Metric::kCosine);
  EXPECT_EQ(idx->dim(), 8);
  EXPECT_EQ(idx->size(), 58);
  EXPECT_EQ(idx->n_deleted(), 2);
  auto v = clustered_vectors(60, 8, 4, 1, 2024);
  // Each live vector's own id comes back first; removed ids never do.
  auto r = idx->search(v.data(), 60, 3);
  for (int i = 0; i < 60; ++i) {
    uint64_t id = 500 + 7 * i;
    for (int j = 0; j < 3; ++j) EXPECT_TRUE(r.ids[i * 3 + j] != 500 && r.ids[i * 3 + j] != 535);
    if (id != 500 && id != 535) EXPECT_EQ(r.ids[i * 3], id);
  }
}

TEST(Npy, RoundTripAndHeaderValidation) {
  std::string path = temp_path("v.npy");
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  write_npy_f32(path, v.data(), 2, 3);
  NpyMatrix m = read_npy_f32(path);
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.cols, 3);
  EXPECT_EQ(m.data, v);
  std::string bytes = read_file(path);
  auto parse = [](const std::string& b) {
    return parse_npy_f32(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "v.npy");
  };
  EXPECT_THROW(parse(bytes.substr(0, bytes.size() - 4)), Error);  // data short
  std::string f8 = bytes;
  f8.replace(f8.find("<f4"), 3, "<f8");
  EXPECT_THROW(parse(f8), Error);
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THROW(parse(fortran), Error);
  EXPECT_THROW(parse("\x93NUMPY"), Error);
  std::vector<uint64_t> ids{5, 9, 1ull << 40};
  write_npy_u64(path, ids);
  EXPECT_EQ(read_npy_ids(path), ids);
  fs::remove(path);
}

}  // namespace
}  // namespace loom::index
