// llama2.c legacy checkpoint: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means an untied classifier), then f32 arrays:
// token_embedding (vocab, dim), rms_att (L, dim), wq (L, dim, dim), wk (L, kv_dim, dim),
// wv (L, kv_dim, dim), wo (L, dim, dim), rms_ffn (L, dim), w1 (L, hidden, dim),
// w2 (L, dim, hidden), w3 (L, hidden, dim), rms_final (dim), freq_cis_real/imag
// (seq_len, head_size/2 each, unused), then wcls (vocab, dim) when untied.
// Tensors come out under GGUF's llama names, header values as GGUF llama.* metadata.
#include <string>

#include "core/mapped_file.h"
#include "io/tensor_map.h"

namespace loom::io {

namespace {

// The seven header fields, checked, and the sizes derived from them.
struct Llama2cHeader {
  int64_t dim, hidden, layers, heads, kv_heads, vocab, seq_len;
  bool tied;  // a positive vocab_size: the classifier is the token embedding
  int64_t head_size, kv_dim;
};

Llama2cHeader read_header(ByteReader& r, const TensorMap& map) {
  const char* names[7] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                          "n_kv_heads", "vocab_size", "seq_len"};
  int64_t h[7];
  for (int i = 0; i < 7; ++i) h[i] = r.read<int32_t>(names[i]);
  const bool tied = h[5] > 0;
  Llama2cHeader c{h[0], h[1], h[2], h[3], h[4], tied ? h[5] : -h[5], h[6], tied, 0, 0};
  for (int i = 0; i < 7; ++i) {
    int64_t v = i == 5 ? c.vocab : h[i];
    if (v <= 0 || v > (1 << 24)) {
      map.fail(std::string("header field ") + names[i] + " in 1..2^24, got " +
               std::to_string(h[i]) + " (not a llama2.c checkpoint?)");
    }
  }
  if (c.dim % c.heads != 0)
    map.fail("header: dim " + std::to_string(c.dim) + " divisible by n_heads " +
             std::to_string(c.heads));
  if (c.kv_heads > c.heads || c.heads % c.kv_heads != 0) {
    map.fail("header: n_heads " + std::to_string(c.heads) + " a multiple of n_kv_heads " +
             std::to_string(c.kv_heads));
  }
  c.head_size = c.dim / c.heads;
  c.kv_dim = c.kv_heads * c.head_size;
  if (c.head_size % 2 != 0)
    map.fail("header: head size dim/n_heads even, got " + std::to_string(c.head_size));
  return c;
}

// Walks the f32 arrays after the header in file order, checking each lies inside the file.
class ArrayCursor {
 public:
  ArrayCursor(std::shared_ptr<const MappedFile> file, TensorMap& map)
      : file_(std::move(file)), map_(map) {}

  // The next array, shape s, as a tensor viewing the file.
  Tensor take(const std::string& name, Shape s) {
    size_t bytes = static_cast<size_t>(s.numel()) * 4;
    if (bytes > file_->size() || offset_ > file_->size() - bytes) {
      map_.fail("tensor '" + name + "' needs bytes [" + std::to_string(offset_) + ", " +
                std::to_string(offset_ + bytes) + ") but the file has " +
                std::to_string(file_->size()) +
                " bytes (truncated, or a header that does not match the file)");
    }
    Tensor t = Tensor::mapped(file_, offset_, s, DType::F32, name);
    offset_ += bytes;
    return t;
  }

  // The next array, (layers, one), added as one tensor "blk.<l>.<suffix>" per layer.
  void take_per_layer(const std::string& suffix, Shape one, int64_t layers) {
    size_t start = offset_;
    take("blk.*." + suffix, Shape({layers, one.numel()}));
    size_t after = offset_;
    for (int64_t l = 0; l < layers; ++l) {
      offset_ = start + static_cast<size_t>(l * one.numel()) * 4;
      map_.add("blk." + std::to_string(l) + "." + suffix,
               take("blk." + std::to_string(l) + "." + suffix, one));
    }
    offset_ = after;
  }

 private:
  std::shared_ptr<const MappedFile> file_;
  TensorMap& map_;
  size_t offset_ = 28;  // just past the header
};

void add_llama_meta(const Llama2cHeader& c, TensorMap& map) {
  map.set_meta("general.architecture", MetaValue::of_string("llama"));
  map.set_meta("llama.embedding_length", MetaValue::of_int(c.dim));
  map.set_meta("llama.feed_forward_length", MetaValue::of_int(c.hidden));
  map.set_meta("llama.block_count", MetaValue::of_int(c.layers));
  map.set_meta("llama.attention.head_count", MetaValue::of_int(c.heads));
  map.set_meta("llama.attention.head_count_kv", MetaValue::of_int(c.kv_heads));
  map.set_meta("llama.context_length", MetaValue::of_int(c.seq_len));
  map.set_meta("llama.vocab_size", MetaValue::of_int(c.vocab));
  map.set_meta("llama.rope.freq_base", MetaValue::of_float(10000.0));
  map.set_meta("llama.attention.layer_norm_rms_epsilon", MetaValue::of_float(1e-5));
}

}  // namespace

TensorMap read_llama2c(const std::string& path) {
  auto file = MappedFile::open(path);
  ByteReader r(file->data(), file->size(), path);
  TensorMap map(path, "llama2c");
  const Llama2cHeader c = read_header(r, map);
  const int64_t dim = c.dim, hidden = c.hidden, kv_dim = c.kv_dim, L = c.layers;
  ArrayCursor a(file, map);
  map.add("token_embd.weight", a.take("token_embd.weight", Shape({c.vocab, dim})));
  a.take_per_layer("attn_norm.weight", Shape({dim}), L);
  a.take_per_layer("attn_q.weight", Shape({dim, dim}), L);
  a.take_per_layer("attn_k.weight", Shape({kv_dim, dim}), L);
  a.take_per_layer("attn_v.weight", Shape({kv_dim, dim}), L);
  a.take_per_layer("attn_output.weight", Shape({dim, dim}), L);
  a.take_per_layer("ffn_norm.weight", Shape({dim}), L);
  a.take_per_layer("ffn_gate.weight", Shape({hidden, dim}), L);
  a.take_per_layer("ffn_down.weight", Shape({dim, hidden}), L);
  a.take_per_layer("ffn_up.weight", Shape({hidden, dim}), L);
  map.add("output_norm.weight", a.take("output_norm.weight", Shape({dim})));
  if (!c.tied) {
    a.take("freq_cis", Shape({2, c.seq_len, c.head_size / 2}));  // skipped, but must be present
    map.add("output.weight", a.take("output.weight", Shape({c.vocab, dim})));
  }
  add_llama_meta(c, map);
  return map;
}

}  // namespace loom::io
