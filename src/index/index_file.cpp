#include "index/index_file.h"

#include <zlib.h>

#include <algorithm>

#include "core/error.h"
#include "core/mapped_file.h"
#include "index/flat_index.h"
#include "index/hnsw_index.h"
#include "index/vamana_index.h"

namespace loom::index {

namespace {

constexpr char kMagic[8] = {'L', 'O', 'O', 'M', 'V', 'I', 'D', 'X'};
constexpr char kTrailer[4] = {'L', 'E', 'N', 'D'};
constexpr uint32_t kMeta = fourcc("META"), kIds = fourcc("IDS_"), kTomb = fourcc("TOMB"),
                   kVecs = fourcc("VECS");

enum class Kind : uint32_t { kFlat = 0, kHnsw = 1, kVamana = 2 };

Kind kind_of(std::string_view k) {
  if (k == "flat") return Kind::kFlat;
  if (k == "hnsw") return Kind::kHnsw;
  return Kind::kVamana;
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  // zlib's CRC-32 (the same polynomial and conventions), several bytes per cycle: loading a large
  // index checks every byte twice (each section, then the whole file).
  const auto* p = static_cast<const Bytef*>(data);
  uLong c = crc;
  while (n > 0) {
    const uInt m = static_cast<uInt>(std::min<size_t>(n, size_t{1} << 30));
    c = ::crc32(c, p, m);
    p += m;
    n -= m;
  }
  return static_cast<uint32_t>(c);
}

std::string tag_name(uint32_t tag) {
  std::string s(4, '?');
  for (int i = 0; i < 4; ++i) {
    char c = static_cast<char>((tag >> (8 * i)) & 0xff);
    s[i] = (c >= 32 && c < 127) ? c : '?';
  }
  return s;
}

void FileWriter::add(uint32_t tag, std::string_view payload) {
  sections_.emplace_back(tag, std::string(payload));
}

std::string FileWriter::finish() const {
  std::string out(kMagic, 8);
  auto put32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  auto put64 = [&](uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); };
  put32(kIndexFileVersion);
  put32(static_cast<uint32_t>(sections_.size()));
  for (const auto& [tag, payload] : sections_) {
    put32(tag);
    put32(crc32(payload.data(), payload.size()));
    put64(payload.size());
    out += payload;
    out.append((8 - payload.size() % 8) % 8, '\0');
  }
  put32(crc32(out.data(), out.size()));
  out.append(kTrailer, 4);
  return out;
}

FileReader::FileReader(const uint8_t* data, size_t size, std::string name)
    : name_(std::move(name)) {
  if (size < 16 + 8 || std::memcmp(data, kMagic, 8) != 0) {
    throw Error(name_ + ": not a Loom index file (expected magic LOOMVIDX at offset 0)");
  }
  if (std::memcmp(data + size - 4, kTrailer, 4) != 0) {
    throw Error(name_ + ": truncated index file (no LEND trailer at offset " +
                std::to_string(size - 4) + ")");
  }
  uint32_t stored;
  std::memcpy(&stored, data + size - 8, 4);
  if (crc32(data, size - 8) != stored) {
    throw Error(name_ + ": checksum mismatch, the index file is corrupted");
  }
  ByteReader r(data, size - 8, name_);
  r.seek(8, "magic");
  version_ = r.read<uint32_t>("version");
  if (version_ == 0 || version_ > kIndexFileVersion) {
    throw Error(name_ + ": index file version " + std::to_string(version_) +
                " is not supported (this build reads 1.." + std::to_string(kIndexFileVersion) +
                ")");
  }
  uint32_t n = r.read<uint32_t>("section count");
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t tag = r.read<uint32_t>("section tag");
    uint32_t crc = r.read<uint32_t>("section checksum");
    uint64_t len = r.read<uint64_t>("section size");
    if (len > r.remaining()) {
      throw Error(name_ + ": section " + tag_name(tag) + " at offset " +
                  std::to_string(r.offset()) + " claims " + std::to_string(len) +
                  " bytes but only " + std::to_string(r.remaining()) + " remain");
    }
    const uint8_t* p = r.take(len, "section payload");
    if (crc32(p, len) != crc)
      throw Error(name_ + ": checksum mismatch in section " + tag_name(tag));
    size_t pad = (8 - len % 8) % 8;
    r.take(pad, "section padding");
    if (!sections_.emplace(tag, std::string_view(reinterpret_cast<const char*>(p), len)).second) {
      throw Error(name_ + ": section " + tag_name(tag) + " appears twice");
    }
  }
  if (!r.at_end()) {
    throw Error(name_ + ": " + std::to_string(r.remaining()) +
                " unexpected bytes after the sections");
  }
}

std::string_view FileReader::section(uint32_t tag) const {
  auto it = sections_.find(tag);
  if (it == sections_.end()) throw Error(name_ + ": missing section " + tag_name(tag));
  return it->second;
}

void FileReader::size_error(uint32_t tag, size_t expected, size_t got) const {
  throw Error(name_ + ": section " + tag_name(tag) + " has " + std::to_string(got) +
              " bytes, expected " + std::to_string(expected));
}

std::string serialize_index(const Index& index) {
  FileWriter w;
  const VectorStore& s = index.store();
  FieldWriter meta;
  meta.put(static_cast<uint32_t>(kind_of(index.kind())))
      .put(static_cast<uint32_t>(index.metric()))
      .put(static_cast<uint64_t>(index.dim()))
      .put(static_cast<uint64_t>(s.n_slots()));
  w.add(kMeta, meta.bytes());
  w.add_array(kIds, s.ids());
  w.add_array(kTomb, s.tombstones());
  w.add_array(kVecs, s.data());
  index.write_sections(w);
  return w.finish();
}

void save_index(const Index& index, const std::string& path) {
  write_file_atomic(path, serialize_index(index));
}

std::unique_ptr<Index> deserialize_index(const uint8_t* data, size_t size,
                                         const std::string& name) {
  FileReader r(data, size, name);
  std::string_view meta = r.section(kMeta);
  if (meta.size() != 24) r.size_error(kMeta, 24, meta.size());
  ByteReader m(reinterpret_cast<const uint8_t*>(meta.data()), meta.size(), name + " META");
  uint32_t kind = m.read<uint32_t>("kind"), metric = m.read<uint32_t>("metric");
  uint64_t dim = m.read<uint64_t>("dim"), n = m.read<uint64_t>("n_slots");
  if (metric > 2) throw Error(name + ": META metric " + std::to_string(metric) + " is not 0..2");
  if (dim == 0 || dim > (1u << 20))
    throw Error(name + ": META dim " + std::to_string(dim) + " out of range");
  if (n >= kNoSlot || n * dim * 4 > size) {
    throw Error(name + ": META n_slots " + std::to_string(n) + " does not fit the file");
  }
  std::unique_ptr<Index> index;
  Metric mt = static_cast<Metric>(metric);
  switch (static_cast<Kind>(kind)) {
    case Kind::kFlat:
      index = std::make_unique<FlatIndex>(dim, mt);
      break;
    case Kind::kHnsw:
      index = std::make_unique<HnswIndex>(dim, mt);
      break;
    case Kind::kVamana:
      index = std::make_unique<VamanaIndex>(dim, mt);
      break;
    default:
      throw Error(name + ": META kind " + std::to_string(kind) + " is not flat/hnsw/vamana");
  }
  index->mutable_store().restore(r.array<float, HugePageAllocator<float>>(kVecs, n * dim),
                                 r.array<uint64_t>(kIds, n), r.array<uint8_t>(kTomb, n), name);
  index->read_sections(r);
  return index;
}

std::unique_ptr<Index> load_index(const std::string& path) {
  auto f = MappedFile::open(path);
  return deserialize_index(f->data(), f->size(), path);
}

}  // namespace loom::index
