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

TensorMap read_llama2c(const std::string& path) {
  auto file = MappedFile::open(path);
  ByteReader r(file->data(), file->size(), path);
  TensorMap map(path, "llama2c");
  const char* names[7] = {"dim",        "hidden_dim", "n_layers", "n_heads",
                          "n_kv_heads", "vocab_size", "seq_len"};
  int64_t h[7];
  for (int i = 0; i < 7; ++i) h[i] = r.read<int32_t>(names[i]);
  const bool tied = h[5] > 0;
  const int64_t dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4];
  const int64_t vocab = tied ? h[5] : -h[5], seq_len = h[6];
  for (int i = 0; i < 7; ++i) {
    int64_t v = i == 5 ? vocab : h[i];
    if (v <= 0 || v > (1 << 24)) {
      map.fail(std::string("header field ") + names[i] + " in 1..2^24, got " +
               std::to_string(h[i]) + " (not a llama2.c checkpoint?)");
    }
  }
  if (dim % heads != 0)
    map.fail("header: dim " + std::to_string(dim) + " divisible by n_heads " +
             std::to_string(heads));
  if (kv_heads > heads || heads % kv_heads != 0) {
    map.fail("header: n_heads " + std::to_string(heads) + " a multiple of n_kv_heads " +
             std::to_string(kv_heads));
  }
  const int64_t head_size = dim / heads, kv_dim = kv_heads * head_size;
  if (head_size % 2 != 0)
    map.fail("header: head size dim/n_heads even, got " + std::to_string(head_size));

  size_t offset = 28;
  auto take = [&](const std::string& name, Shape s) {
    size_t bytes = static_cast<size_t>(s.numel()) * 4;
    if (bytes > file->size() || offset > file->size() - bytes) {
      map.fail("tensor '" + name + "' needs bytes [" + std::to_string(offset) + ", " +
               std::to_string(offset + bytes) + ") but the file has " +
               std::to_string(file->size()) +
               " bytes (truncated, or a header that does not match the file)");
    }
    Tensor t = Tensor::mapped(file, offset, s, DType::F32, name);
    offset += bytes;
    return t;
  };
  // Per-layer tensors are consecutive slices of one array per kind.
  auto per_layer = [&](const std::string& suffix, Shape one) {
    size_t start = offset;
    take("blk.*." + suffix, Shape({layers, one.numel()}));
    size_t after = offset;
    for (int64_t l = 0; l < layers; ++l) {
      offset = start + static_cast<size_t>(l * one.numel()) * 4;
      map.add("blk." + std::to_string(l) + "." + suffix,
              take("blk." + std::to_string(l) + "." + suffix, one));
    }
    offset = after;
  };
  map.add("token_embd.weight", take("token_embd.weight", Shape({vocab, dim})));
  per_layer("attn_norm.weight", Shape({dim}));
  per_layer("attn_q.weight", Shape({dim, dim}));
  per_layer("attn_k.weight", Shape({kv_dim, dim}));
  per_layer("attn_v.weight", Shape({kv_dim, dim}));
  per_layer("attn_output.weight", Shape({dim, dim}));
  per_layer("ffn_norm.weight", Shape({dim}));
  per_layer("ffn_gate.weight", Shape({hidden, dim}));
  per_layer("ffn_down.weight", Shape({dim, hidden}));
  per_layer("ffn_up.weight", Shape({hidden, dim}));
  map.add("output_norm.weight", take("output_norm.weight", Shape({dim})));
  if (!tied) {
    take("freq_cis", Shape({2, seq_len, head_size / 2}));  // skipped, but must be present
    map.add("output.weight", take("output.weight", Shape({vocab, dim})));
  }
  map.set_meta("general.architecture", MetaValue::of_string("llama"));
  map.set_meta("llama.embedding_length", MetaValue::of_int(dim));
  map.set_meta("llama.feed_forward_length", MetaValue::of_int(hidden));
  map.set_meta("llama.block_count", MetaValue::of_int(layers));
  map.set_meta("llama.attention.head_count", MetaValue::of_int(heads));
  map.set_meta("llama.attention.head_count_kv", MetaValue::of_int(kv_heads));
  map.set_meta("llama.context_length", MetaValue::of_int(seq_len));
  map.set_meta("llama.vocab_size", MetaValue::of_int(vocab));
  map.set_meta("llama.rope.freq_base", MetaValue::of_float(10000.0));
  map.set_meta("llama.attention.layer_norm_rms_epsilon", MetaValue::of_float(1e-5));
  return map;
}

}  // namespace loom::io
