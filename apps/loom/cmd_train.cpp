// `loom train`: train a causal LM (Llama or GPT-2 layout) from scratch or continue an existing
// model (--init: a Hugging Face directory, GGUF or llama2.c checkpoint), on a text file (bytes,
// or the model's tokenizer) or a token shard; all parameters, only new embedding rows, LoRA
// adapters, or both. Progress bar, CSV log, validation loss before and after, atomic checkpoints
// with exact --resume, and a Hugging Face directory as output. Parsing and printing only: the
// loop is train/trainer.h, the model files train/hf_checkpoint.h, the modes train/train_mode.h.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/sha256.h"
#include "text/model_tokenizer.h"
#include "text/tokenizer.h"
#include "train/hf_checkpoint.h"
#include "train/loss_plot.h"
#include "train/text_lines.h"
#include "train/token_shard.h"
#include "train/train_mode.h"
#include "train/trainer.h"
#include "train_flags.h"

namespace {

using loom::Error;
using loom::cli::Args;
using loom::cli::base_name;
using loom::cli::decay_of;
using loom::cli::file_exists;
using loom::cli::is_dir;
using loom::cli::split_commas;
using loom::cli::UsageError;

// sha256 over rows [0, base) of the token embedding and (untied) head: the rows that must never
// change under --train new-embeddings.
std::string original_rows_sha256(loom::nn::CausalLm& model, int64_t base) {
  std::string bytes;
  for (const char* name : {"model.embed_tokens.weight", "transformer.wte.weight", "lm_head.weight"})
    if (loom::nn::Parameter* p = model.params().find(name))
      bytes.append(reinterpret_cast<const char*>(p->value.f32()),
                   static_cast<size_t>(base * p->cols()) * sizeof(float));
  return loom::sha256_hex(bytes);
}

int run_train(const Args& a) {
  const std::string out = a.need("out");
  const bool text_mode = a.has("text");
  if (text_mode == a.has("shard"))
    throw UsageError{"give exactly one of --text FILE or --shard FILE"};
  const int64_t heldout_every = a.integer("heldout-every", 0);
  if (heldout_every < 0 || heldout_every == 1)
    throw UsageError{"flag --heldout-every: expected 0 (off) or N >= 2"};

  if (!text_mode && heldout_every > 0)
    throw UsageError{"--heldout-every splits --text lines; with --shard pass --val-shard"};
  if (text_mode && a.has("val-shard")) throw UsageError{"--val-shard goes with --shard"};

  // The model to continue, if any.
  std::optional<loom::train::HfTrainModel> init;
  if (a.has("init")) init = loom::train::read_hf_model(a.str("init"));

  // Tokenizer: --tokenizer, else the --init directory's tokenizer.json / tokenizer.model; bytes
  // (vocab 256) for a from-scratch run without one.
  std::string tok_path = a.str("tokenizer");
  if (tok_path.empty() && init && text_mode)
    tok_path = loom::text::model_tokenizer(a.str("init"), "", {.gguf_vocab = false}).path;
  std::unique_ptr<loom::text::Tokenizer> tok;
  if (!tok_path.empty()) tok = loom::text::load_tokenizer(tok_path);

  // Tokens: train and held-out.
  std::vector<int32_t> train_tok, val_tok;
  int64_t data_vocab = 256, docs_train = 0, docs_val = 0;
  if (text_mode) {
    const std::string text = loom::read_file(a.str("text"));
    std::vector<int32_t> ids;
    auto encode = [&](std::string_view s, std::vector<int32_t>& dst) {
      if (tok) {
        ids.clear();  // encode_ids appends (Tokenizer) or assigns (SentencePiece adapter)
        tok->encode_ids(s, true, ids);
        dst.insert(dst.end(), ids.begin(), ids.end());
        if (tok->eos_id() >= 0) dst.push_back(tok->eos_id());
      } else {
        for (char ch : s) dst.push_back(static_cast<uint8_t>(ch));
      }
    };
    if (tok) data_vocab = tok->vocab_size();
    if (heldout_every > 0 || tok) {
      // One document per line; with --heldout-every N, line numbers divisible by N held out.
      loom::train::for_each_line(text, heldout_every, [&](std::string_view line, bool held) {
        if (tok) {
          encode(line, held ? val_tok : train_tok);
        } else {
          std::string with_nl(line);
          with_nl += '\n';
          encode(with_nl, held ? val_tok : train_tok);
        }
        ++(held ? docs_val : docs_train);
      });
    } else {
      encode(text, train_tok);
      docs_train = 1;
    }
  } else {
    auto shard = loom::train::TokenShard::open(a.str("shard"));
    train_tok.resize(static_cast<size_t>(shard.size()));
    shard.read(0, shard.size(), train_tok.data());
    data_vocab = shard.vocab_size();
    docs_train = shard.documents();
    if (a.has("val-shard")) {
      auto v = loom::train::TokenShard::open(a.str("val-shard"));
      if (v.vocab_size() != shard.vocab_size())
        throw Error(a.str("val-shard") + ": vocabulary size " + std::to_string(v.vocab_size()) +
                    " differs from the training shard's " + std::to_string(shard.vocab_size()));
      val_tok.resize(static_cast<size_t>(v.size()));
      v.read(0, v.size(), val_tok.data());
      docs_val = v.documents();
    }
  }
  if (heldout_every == 0 && val_tok.empty()) {
    // No explicit split: the last --val-frac of the tokens.
    const double val_frac = a.number("val-frac", 0.1);
    if (!(val_frac >= 0 && val_frac < 0.5)) throw UsageError{"flag --val-frac: expected [0, 0.5)"};
    const size_t n_val = static_cast<size_t>(static_cast<double>(train_tok.size()) * val_frac);
    val_tok.assign(train_tok.end() - static_cast<std::ptrdiff_t>(n_val), train_tok.end());
    train_tok.resize(train_tok.size() - n_val);
  }

  // Architecture: the --init model's, or from the flags.
  loom::nn::CausalLmConfig c;
  loom::train::TrainConfig tc;
  if (init) {
    c = init->config;
    if (data_vocab > c.vocab_size)
      throw Error((tok ? tok_path : a.str("shard")) + ": " + std::to_string(data_vocab) +
                  " token ids but the model " + a.str("init") + " has " +
                  std::to_string(c.vocab_size) + " embedding rows");
    tc.seq = a.integer("seq", std::min<int64_t>(128, c.max_seq));
  } else {
    const std::string arch = a.str("arch", "llama");
    if (arch != "llama" && arch != "gpt2") throw UsageError{"flag --arch: expected llama or gpt2"};
    c.arch = arch == "gpt2" ? loom::nn::Arch::Gpt2 : loom::nn::Arch::Llama;
    c.vocab_size = data_vocab;
    c.d_model = a.integer("d-model", 128);
    c.n_layers = a.integer("layers", 4);
    c.n_heads = a.integer("heads", 4);
    c.n_kv_heads = a.integer("kv-heads", c.n_heads);
    c.d_ff = a.integer(
        "ff", c.arch == loom::nn::Arch::Gpt2 ? 4 * c.d_model : (8 * c.d_model / 3 + 31) / 32 * 32);
    tc.seq = a.integer("seq", 128);
    c.max_seq = tc.seq;
  }
  const loom::train::TrainMode mode = loom::train::parse_train_mode(a.str("train", "all"));
  if (mode.lora) {
    c.lora.rank = a.integer("lora-rank", 8);
    c.lora.alpha =
        static_cast<float>(a.number("lora-alpha", 2.0 * static_cast<double>(c.lora.rank)));
    c.lora.targets =
        split_commas(a.str("lora-targets", c.arch == loom::nn::Arch::Gpt2 ? "qkv,o" : "q,v"));
    if (c.lora.rank <= 0) throw UsageError{"flag --lora-rank: expected > 0"};
  } else if (a.has("lora-rank") || a.has("lora-alpha") || a.has("lora-targets")) {
    throw UsageError{"--lora-* flags need --train lora or new-embeddings,lora"};
  }
  int64_t base_vocab = a.integer("base-vocab", init ? init->base_vocab_size : -1);
  if (mode.new_embeddings && base_vocab < 0)
    throw UsageError{"--train " + mode.str() +
                     " needs the base vocabulary size: --base-vocab N or config.json "
                     "\"loom_extension\": {\"base_vocab_size\": N}"};

  tc.batch = a.integer("batch", 16);
  tc.grad_accum = a.integer("accum", 1);
  const int64_t steps = a.integer("steps", 1000);
  tc.schedule.lr = static_cast<float>(a.number("lr", 1e-3));
  tc.schedule.min_lr = static_cast<float>(a.number("min-lr", tc.schedule.lr / 10));
  tc.schedule.warmup = a.integer("warmup", 100);
  tc.schedule.total_steps = steps;
  tc.schedule.decay = decay_of(a.str("decay", "cosine"));
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", 0.1));
  tc.adamw.beta2 = 0.95f;
  tc.clip = static_cast<float>(a.number("clip", 1.0));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  tc.compute = a.flag("bf16") ? loom::nn::Compute::BF16 : loom::nn::Compute::F32;
  const int64_t eval_every = a.integer("eval-every", 100),
                eval_batches = a.integer("eval-batches", 8);
  const int64_t save_every = a.integer("save-every", 100);
  const int64_t n_train = static_cast<int64_t>(train_tok.size()),
                n_val = static_cast<int64_t>(val_tok.size());

  loom::ThreadPool pool(a.threads());
  loom::nn::CausalLm model(c);
  if (init) {
    loom::train::load_hf_weights(model, init->weights);
    model.init_lora(tc.seed);
  } else {
    model.init(tc.seed);
  }
  model.exclude_norms_and_biases_from_decay();
  const int64_t trainable = loom::train::apply_train_mode(model, mode, base_vocab);
  const std::string rows_before =
      mode.new_embeddings ? original_rows_sha256(model, base_vocab) : std::string();
  loom::train::CausalLmTrainer trainer(model, train_tok.data(), n_train, tc, pool);
  // Under `mpirun -np W`, every process trains a replica on its share of each step's
  // micro-batches (gradients all-reduced); only process 0 writes files and prints.
  std::unique_ptr<loom::train::ProcessGroup> group = loom::train::ProcessGroup::from_environment();
  const bool root = group->is_root();
  if (group->size() > 1) trainer.set_process_group(group.get());

  if (root) ::mkdir(out.c_str(), 0755);
  group->barrier();
  if (!is_dir(out)) throw Error(out + ": cannot create the output directory");
  const std::string ckpt = out + "/checkpoint.loom", log_path = out + "/log.csv";
  const bool resume = a.flag("resume");
  // What the run trains, kept beside the checkpoint: --resume must train the same thing (the
  // checkpoint holds values and moments, not which rows are frozen).
  std::string what = "train " + mode.str() + "\nbase_vocab " +
                     std::to_string(mode.new_embeddings ? base_vocab : -1) + "\nlora_rank " +
                     std::to_string(c.lora.rank) + "\nlora_alpha " + std::to_string(c.lora.alpha) +
                     "\nlora_targets";
  for (const std::string& t : model.config().lora.targets) what += " " + t;
  what += "\n";
  const std::string what_path = out + "/train_mode.txt";
  float val_before = NAN;
  if (resume) {
    const std::string prev = file_exists(what_path) ? loom::read_file(what_path) : what;
    if (prev != what)
      throw Error(what_path + ": the run was started with other --train/--base-vocab/--lora-* " +
                  "settings (" + prev.substr(0, prev.find('\n')) + "); resume with the same flags");
    trainer.load_checkpoint(ckpt);
    // Drop log lines past the checkpoint (a run stopped between saves logged them already).
    std::ifstream in(log_path);
    std::string line, kept;
    while (std::getline(in, line))
      if (line.rfind("step", 0) == 0 || std::atoll(line.c_str()) <= trainer.steps_done())
        kept += line + "\n";
    if (root) loom::write_file_atomic(log_path, kept);
  } else if (file_exists(ckpt)) {
    throw Error(ckpt + " exists: pass --resume to continue it or choose another --out");
  } else if (n_val > tc.seq) {
    val_before = trainer.evaluate(val_tok.data(), n_val, eval_batches, tc.seed + 1);
  }
  if (!resume && root) loom::write_file_atomic(what_path, what);
  std::ofstream log(root ? log_path : "/dev/null", resume ? std::ios::app : std::ios::trunc);
  if (!log) throw Error(log_path + ": cannot open for writing");
  if (!resume) {
    log << "step,loss,lr,grad_norm,tokens_per_s,val_loss\n";
    if (!std::isnan(val_before)) {
      char b[64];
      std::snprintf(b, sizeof b, "0,,,,,%.4f", val_before);
      log << b << "\n";
    }
  }

  // The model directory: config.json from the --init model's (extra fields kept), tokenizer files.
  const std::string base_config = init ? init->config_json : "{}";
  if (!tok_path.empty()) {
    // A SentencePiece model under its Hugging Face name; other files keep theirs.
    std::string name = base_name(tok_path);
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".model") == 0)
      name = "tokenizer.model";
    if (!resume && root) {
      loom::write_file_atomic(out + "/" + name, loom::read_file(tok_path));
      // tokenizer.json too, so `loom generate --model DIR` finds the tokenizer by itself.
      if (name != "tokenizer.json" && !file_exists(out + "/tokenizer.json")) {
        try {
          tok->save(out + "/tokenizer.json");
        } catch (const Error& e) {
          std::fprintf(stderr, "loom train: no tokenizer.json in %s (%s)\n", out.c_str(), e.what());
        }
      }
    }
  }
  if (init && is_dir(a.str("init")) && !resume && root)
    for (const char* n : {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"}) {
      const std::string src = a.str("init") + "/" + n;
      if (file_exists(src) && !file_exists(out + "/" + n))
        loom::write_file_atomic(out + "/" + n, loom::read_file(src));
    }
  auto save = [&] {
    if (!root) return;
    trainer.save_checkpoint(ckpt);
    loom::train::save_hf_model(model, out, base_config);
    log.flush();
    loom::train::write_loss_plot(log_path, out + "/loss.png");
  };

  const int64_t tok_per_step = tc.batch * tc.seq * tc.grad_accum * group->size();
  loom::Progress bar("train", (steps - trainer.steps_done()) * tok_per_step, "tok",
                     root && loom::stderr_is_tty());
  float val = NAN, loss = NAN;
  auto t0 = std::chrono::steady_clock::now();
  int64_t done_tokens = 0;
  const int64_t stop_at = a.integer("stop-at", steps);
  while (trainer.steps_done() < std::min(steps, stop_at)) {
    auto ts = std::chrono::steady_clock::now();
    loom::train::StepStats st = trainer.step();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    loss = st.loss;
    done_tokens += tok_per_step;
    const bool last = st.step == steps || st.step == stop_at;
    std::string val_s;
    if (n_val > tc.seq && (st.step % eval_every == 0 || last)) {
      val = trainer.evaluate(val_tok.data(), n_val, eval_batches, tc.seed + 1);
      char b[32];
      std::snprintf(b, sizeof b, "%.4f", val);
      val_s = b;
    }
    char line[160];
    std::snprintf(line, sizeof line, "%lld,%.5f,%.3g,%.4f,%.1f,%s", static_cast<long long>(st.step),
                  st.loss, st.lr, st.grad_norm, static_cast<double>(tok_per_step) / secs,
                  val_s.c_str());
    log << line << "\n" << std::flush;
    if (st.step % save_every == 0 || last) save();
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", st.loss, val);
    bar.update(done_tokens, extra);
  }
  bar.finish();
  if (trainer.steps_done() == 0) save();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::string rows_after =
      mode.new_embeddings ? original_rows_sha256(model, base_vocab) : std::string();

  group->barrier();  // process 0's last checkpoint is on disk before anyone returns
  if (!root) return 0;
  std::string sample;
  const int64_t n_sample = a.integer("sample", text_mode ? 200 : 0);
  if (text_mode && n_sample > 0) {
    std::vector<int32_t> prompt;
    if (tok) {
      tok->encode_ids("", true, prompt);
      if (prompt.empty()) prompt.push_back(tok->bos_id() >= 0 ? tok->bos_id() : train_tok[0]);
      auto ids = loom::train::sample_tokens(model, pool, prompt, n_sample, 0.8f, tc.seed);
      sample = tok->decode(std::span<const int32_t>(ids).subspan(prompt.size()), true);
    } else {
      auto ids = loom::train::sample_tokens(model, pool, {'\n'}, n_sample, 0.8f, tc.seed);
      for (size_t i = 1; i < ids.size(); ++i) sample += static_cast<char>(ids[i]);
    }
  }
  if (a.json()) {
    std::printf(
        "{\"steps\": %lld, \"train\": \"%s\", \"loss\": %.5f, \"val_loss_before\": %.5f, "
        "\"val_loss\": %.5f, \"seconds\": %.1f, \"params\": %lld, \"trainable\": %lld, "
        "\"train_tokens\": %lld, \"val_tokens\": %lld, \"original_rows_sha256_before\": %s, "
        "\"original_rows_sha256_after\": %s, \"model\": %s, \"checkpoint\": %s, \"sample\": %s}\n",
        static_cast<long long>(trainer.steps_done()), mode.str().c_str(), loss, val_before, val,
        secs, static_cast<long long>(model.params().count()), static_cast<long long>(trainable),
        static_cast<long long>(n_train), static_cast<long long>(n_val),
        loom::cli::json_quote(rows_before).c_str(), loom::cli::json_quote(rows_after).c_str(),
        loom::cli::json_quote(out).c_str(), loom::cli::json_quote(ckpt).c_str(),
        loom::cli::json_quote(sample).c_str());
  } else {
    std::printf(
        "steps\t%lld\ntrain\t%s\nloss\t%.4f\nval_loss_before\t%.4f (perplexity %.2f)\n"
        "val_loss\t%.4f (perplexity %.2f)\nparams\t%lld\n"
        "trainable\t%lld\ntrain_tokens\t%lld (%lld documents)\nval_tokens\t%lld (%lld "
        "documents)\nseconds\t%.1f\nmodel\t%s\ncheckpoint\t%s\nlog\t%s\n",
        static_cast<long long>(trainer.steps_done()), mode.str().c_str(), loss, val_before,
        std::exp(val_before), val, std::exp(val), static_cast<long long>(model.params().count()),
        static_cast<long long>(trainable), static_cast<long long>(n_train),
        static_cast<long long>(docs_train), static_cast<long long>(n_val),
        static_cast<long long>(docs_val), secs, out.c_str(), ckpt.c_str(), log_path.c_str());
    std::printf("plot\t%s/loss.png\n", out.c_str());
    if (mode.new_embeddings)
      std::printf("original_rows_sha256\t%s -> %s (%s)\n", rows_before.c_str(), rows_after.c_str(),
                  rows_before == rows_after ? "unchanged" : "CHANGED");
    if (!sample.empty()) std::printf("sample\n%s\n", sample.c_str());
  }
  if (rows_before != rows_after) throw Error("original embedding rows changed (a bug): see above");
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "train",
    "train a causal LM (Llama or GPT-2 layout) from scratch or continue one (--init): all "
    "weights, new embedding rows, LoRA",
    {
        {"text", "FILE", "train on a text file: its bytes, or the tokenizer's ids (one doc/line)",
         ""},
        {"shard", "FILE", "train on a token shard (loom data tokenize)", ""},
        {"val-shard", "FILE", "held-out token shard (with --shard)", ""},
        {"init", "MODEL", "continue this model: HF dir (model.safetensors+config.json), GGUF, .bin",
         ""},
        {"tokenizer", "FILE",
         "tokenizer for --text (default: the --init dir's tokenizer.json/.model)", ""},
        {"heldout-every", "N", "hold out lines whose 1-based number is divisible by N (0: none)",
         "0"},
        {"out", "DIR",
         "run folder: model.safetensors, config.json, tokenizer, checkpoint.loom, log.csv, "
         "loss.png",
         ""},
        {"resume", "", "continue DIR/checkpoint.loom exactly", ""},
        {"train", "WHAT", "all, new-embeddings, lora, new-embeddings,lora", "all"},
        {"base-vocab", "N", "rows below N stay frozen (new-embeddings)",
         "config.json loom_extension"},
        {"lora-rank", "R", "LoRA rank", "8"},
        {"lora-alpha", "A", "LoRA alpha (update scaled by alpha/rank)", "2*rank"},
        {"lora-targets", "LIST", "llama: q,k,v,o,gate,up,down; gpt2: qkv,o,fc,down", "q,v / qkv,o"},
        {"arch", "NAME", "llama or gpt2 (from scratch)", "llama"},
        {"d-model", "N", "model width (from scratch)", "128"},
        {"layers", "N", "transformer blocks (from scratch)", "4"},
        {"heads", "N", "attention heads (from scratch)", "4"},
        {"kv-heads", "N", "key/value heads (llama: GQA/MQA)", "heads"},
        {"ff", "N", "MLP width", "4d (gpt2), 8d/3 (llama)"},
        {"seq", "N", "tokens per sequence", "128"},
        {"batch", "N", "sequences per micro-batch", "16"},
        {"accum", "N", "micro-batches per step", "1"},
        {"steps", "N", "optimiser steps", "1000"},
        {"lr", "X", "peak learning rate", "1e-3"},
        {"min-lr", "X", "final learning rate", "lr/10"},
        {"warmup", "N", "linear warmup steps", "100"},
        {"decay", "KIND", "cosine, linear or constant", "cosine"},
        {"wd", "X", "AdamW weight decay (matrices only)", "0.1"},
        {"clip", "X", "global gradient-norm bound (0: off)", "1.0"},
        {"seed", "N", "init and batch-sampling seed", "1"},
        {"bf16", "", "bf16 matmuls with fp32 master weights", ""},
        {"val-frac", "X", "last fraction of the tokens held out (no other split given)", "0.1"},
        {"eval-every", "N", "steps between validation losses", "100"},
        {"eval-batches", "N", "batches per validation loss", "8"},
        {"save-every", "N", "steps between checkpoints", "100"},
        {"stop-at", "N", "stop (with a checkpoint) after step N, as if interrupted", ""},
        {"sample", "N", "tokens to sample at the end (text mode)", "200"},
    },
    run_train,
    "Same seed, data and --threads give the same loss curve; --resume continues with exactly\n"
    "the losses of an uninterrupted run. A NaN/Inf loss stops the run with an error and\n"
    "leaves the last good checkpoint in place. --train new-embeddings keeps every row below\n"
    "the base vocabulary bit-identical (printed as a sha256 before and after).\n"
    "Examples (continued pre-training of stories260K on FOLDOC; then only the new rows and\n"
    "LoRA adapters of a model that `loom adapt extend` grew, base size from its config.json):\n"
    "  loom train --init stories260K.bin --tokenizer tok512.model --text foldoc.tsv \\\n"
    "    --heldout-every 10 --steps 300 --warmup 20 --lr 3e-3 --out run/\n"
    "  loom train --init extended/ --text foldoc.tsv --heldout-every 10 \\\n"
    "    --train new-embeddings,lora --lora-rank 8 --lora-targets q,k,v,o --out run2/\n"
    "Data parallel: mpirun -np W loom train ... runs W replicas, each on its share of every\n"
    "step's micro-batches, with gradients summed across them (global batch = batch x accum x W;\n"
    "W processes with --accum A take the steps of one process with --accum A*W). Process 0\n"
    "writes the run folder.");
