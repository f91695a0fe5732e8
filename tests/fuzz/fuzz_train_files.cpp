// The training inputs a user hands to `loom train` / `loom data tokenize`: the first byte picks
// the reader, the rest is the file.
//   0: token shard (LOOMTOK), then a batch drawn from it
//   1: config.json of an --init model (LlamaForCausalLM / GPT2LMHeadModel fields)
//   2: LOOMCKPT checkpoint, loaded into a fixed tiny Llama (the model of the seed:
//      loom train --text T --d-model 8 --layers 1 --heads 2 --seq 8 --batch 2)
// Any input must end in success or loom::Error; crashes and sanitizer reports are bugs.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "model_reader_fuzz.h"
#include "io/tensor_map.h"
#include "models/decoder.h"
#include "models/causal_lm.h"
#include "models/hf.h"
#include "train/token_shard.h"
#include "train/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 3;
  ++data;
  --size;
  // The readers take a path: the input goes to a private file, in memory (/dev/shm) when the
  // machine has it (a disk write per input made this target ~50x slower).
  struct ShmDir {
    std::string dir, path;
    ShmDir() {
      char tmpl[] = "/dev/shm/loom_fuzz_train_XXXXXX";
      const char* d = mkdtemp(tmpl);
      dir = d != nullptr ? std::string(d) : std::string();
      path = (d != nullptr ? dir : loom::fuzz::work_dir()) + "/input";
    }
    ~ShmDir() {  // removes what this process made in /dev/shm
      if (dir.empty()) return;
      std::remove(path.c_str());
      rmdir(dir.c_str());
    }
  };
  static const ShmDir shm;
  const std::string& path = shm.path;
  if (kind != 1) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return 0;
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    if (kind == 0) {
      auto shard = loom::train::TokenShard::open(path);
      std::vector<int32_t> tok(static_cast<size_t>(shard.size()));
      shard.read(0, shard.size(), tok.data());
      if (shard.size() > 4) {
        loom::train::BatchSampler s(tok.data(), shard.size(), 2, 4, 1);
        int32_t ids[8], targets[8];
        s.sample(0, 0, ids, targets);
      }
    } else if (kind == 1) {
      // The config.json of a Hugging Face directory, read through the architecture's spec with a
      // token embedding of the shape it names (small shapes only: a fuzzer's 2^24 is no test).
      loom::io::TensorMap map("config.json", "safetensors");
      loom::io::add_config_json(map, std::string(reinterpret_cast<const char*>(data), size),
                                "config.json");
      const loom::models::Architecture& a = loom::models::architecture_of(map);
      const int64_t dim = map.meta_int(std::string("config.") + a.hparams()[0].hf_key, 8);
      const int64_t vocab = map.meta_int("config.vocab_size", 16);
      if (dim > 0 && dim <= 256 && vocab > 0 && vocab <= 256) {
        map.add(loom::models::tensor_name(a.tensors()[0], 0, true),
                loom::Tensor::empty(loom::Shape({vocab, dim})));
        const loom::models::DecoderConfig c = loom::models::read_config(a, map);
        (void)loom::models::config_json(c, loom::models::config_from_meta(map));
      }
    } else {
      // One model and trainer for the whole run: a rejected checkpoint changes nothing.
      static loom::ThreadPool pool(1);
      static loom::models::CausalLm model([] {
        loom::models::DecoderConfig c;
        c.vocab_size = 256;
        c.dim = 8;
        c.n_layers = 1;
        c.n_heads = 2;
        c.n_kv_heads = 2;
        c.hidden_dim = 32;
        c.context_length = 8;
        return c;
      }());
      static std::vector<int32_t> tok(64, 1);
      static loom::train::CausalLmTrainer tr(
          model, tok.data(), 64,
          [] {
            loom::train::TrainConfig tc;
            tc.batch = 2;
            tc.seq = 8;
            return tc;
          }(),
          pool);
      tr.load_checkpoint(path);
    }
  } catch (const loom::Error&) {
  }
  return 0;
}
