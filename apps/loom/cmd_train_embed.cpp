// `loom train-embed`: contrastive fine-tuning of a causal LM into a text embedder (InfoNCE with
// in-batch negatives, optional hard negatives, Matryoshka dims) on a pairs file, through the
// training engine. The output is a Hugging Face directory that records its pooling and
// normalisation the sentence-transformers way (modules.json + 1_Pooling/config.json), so
// `loom embed --model DIR` and `loom eval retrieval --model DIR` use them with no flags.
// Parsing and printing only: the loop is train/contrastive_trainer.h.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "embed/embedder.h"
#include "embed/pooling.h"
#include "text/model_tokenizer.h"
#include "text/tokenizer.h"
#include "train/contrastive_trainer.h"
#include "train/hf_checkpoint.h"
#include "train/loss_plot.h"
#include "train/train_mode.h"
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

std::vector<int64_t> parse_dims(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    char* end = nullptr;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || v <= 0)
      throw UsageError{"flag --matryoshka: '" + item + "' is not a positive integer"};
    out.push_back(v);
  }
  if (out.empty()) throw UsageError{"flag --matryoshka: expected dims like 64,32"};
  return out;
}

// sentence-transformers' modules.json for a Transformer -> Pooling (-> Normalize) pipeline.
std::string modules_json(bool normalize) {
  std::string s =
      "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
      "\"sentence_transformers.models.Transformer\"},\n  {\"idx\": 1, \"name\": \"1\", \"path\": "
      "\"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}";
  if (normalize)
    s += ",\n  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
         "\"sentence_transformers.models.Normalize\"}";
  return s + "\n]\n";
}

int run_train_embed(const Args& a) {
  const std::string out = a.need("out");
  const std::string init_path = a.need("init");
  const std::string pairs_path = a.need("pairs");
  loom::train::HfTrainModel init = loom::train::read_hf_model(init_path);

  // Pairs.
  std::vector<std::string> issues;
  loom::train::PairsOptions po;
  po.skip_bad = a.flag("skip-bad");
  po.issues = &issues;
  const std::vector<loom::train::TextPair> pairs = loom::train::read_pairs(pairs_path, po);
  for (const std::string& s : issues) std::fprintf(stderr, "skipped %s\n", s.c_str());

  // Tokenizer: --tokenizer, else the --init directory's tokenizer.json / tokenizer.model. It is
  // copied into DIR first, and the texts are encoded from DIR's copy the way `loom embed --model
  // DIR` will (tokenizer.json, with the model's special tokens), so training and embedding see
  // the same ids.
  const std::string tok_path =
      loom::text::model_tokenizer(init_path, a.str("tokenizer"), {.gguf_vocab = false}).path;
  ::mkdir(out.c_str(), 0755);
  if (!is_dir(out)) throw Error(out + ": cannot create the output directory");
  const std::string ckpt = out + "/checkpoint.loom", log_path = out + "/log.csv";
  const bool resume = a.flag("resume");
  if (!resume && file_exists(ckpt))
    throw Error(ckpt + " exists: pass --resume to continue it or choose another --out");
  std::shared_ptr<const loom::text::Tokenizer> tok = loom::text::load_tokenizer(tok_path);
  {
    std::string name = base_name(tok_path);
    if (name.size() > 6 && name.compare(name.size() - 6, 6, ".model") == 0)
      name = "tokenizer.model";
    if (out + "/" + name != tok_path)
      loom::write_file_atomic(out + "/" + name, loom::read_file(tok_path));
    if (name != "tokenizer.json" && !file_exists(out + "/tokenizer.json"))
      tok->save(out + "/tokenizer.json");
    if (is_dir(init_path))
      for (const char* n :
           {"tokenizer_config.json", "special_tokens_map.json", "tokenizer.model"}) {
        const std::string src = init_path + "/" + n;
        if (file_exists(src) && !file_exists(out + "/" + n))
          loom::write_file_atomic(out + "/" + n, loom::read_file(src));
      }
    tok = loom::text::load_tokenizer(out + "/tokenizer.json");
  }
  if (tok->vocab_size() > init.config.vocab_size)
    throw Error(tok_path + ": " + std::to_string(tok->vocab_size()) + " tokens but the model " +
                init_path + " has " + std::to_string(init.config.vocab_size) + " embedding rows");
  const int64_t max_tokens = a.integer("max-tokens", std::min<int64_t>(128, init.config.max_seq));
  if (max_tokens <= 0 || max_tokens > init.config.max_seq)
    throw UsageError{"flag --max-tokens: expected 1.." + std::to_string(init.config.max_seq)};
  int64_t truncated = 0;
  auto encode = [&](const std::string& s) {
    std::vector<int32_t> ids;
    tok->encode_ids(s, true, ids);
    if (static_cast<int64_t>(ids.size()) > max_tokens) {
      ids.resize(static_cast<size_t>(max_tokens));
      ++truncated;
    }
    return ids;
  };
  std::vector<loom::train::TokenPair> data;
  data.reserve(pairs.size());
  int64_t with_neg = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    loom::train::TokenPair tp{
        encode(pairs[i].query), encode(pairs[i].positive),
        pairs[i].negative.empty() ? std::vector<int32_t>{} : encode(pairs[i].negative)};
    if (tp.q.empty() || tp.p.empty() || (!pairs[i].negative.empty() && tp.n.empty()))
      throw Error(pairs_path + ": pair " + std::to_string(i + 1) + " encodes to no token");
    with_neg += tp.n.empty() ? 0 : 1;
    data.push_back(std::move(tp));
  }

  // Model and what learns.
  loom::nn::CausalLmConfig c = init.config;
  const loom::train::TrainMode mode = loom::train::parse_train_mode(a.str("train", "all"));
  if (mode.new_embeddings) throw UsageError{"--train for train-embed: all or lora"};
  if (mode.lora) {
    c.lora.rank = a.integer("lora-rank", 8);
    c.lora.alpha =
        static_cast<float>(a.number("lora-alpha", 2.0 * static_cast<double>(c.lora.rank)));
    c.lora.targets =
        split_commas(a.str("lora-targets", c.arch == loom::nn::Arch::Gpt2 ? "qkv,o" : "q,v"));
    if (c.lora.rank <= 0) throw UsageError{"flag --lora-rank: expected > 0"};
  } else if (a.has("lora-rank") || a.has("lora-alpha") || a.has("lora-targets")) {
    throw UsageError{"--lora-* flags need --train lora"};
  }
  loom::train::ContrastiveConfig tc;
  tc.batch = a.integer("batch", 32);
  tc.pooling = loom::nn::seq_pool_from_name(a.str("pooling", "mean"));
  tc.loss.temperature = static_cast<float>(a.number("temperature", 0.05));
  tc.loss.symmetric = a.flag("symmetric");
  if (a.has("matryoshka")) tc.matryoshka = parse_dims(a.str("matryoshka"));
  tc.hard_negatives = !a.flag("no-hard-negatives");
  const int64_t steps = a.integer("steps", 200);
  if (steps <= 0) throw UsageError{"flag --steps: expected > 0"};
  tc.schedule.lr = static_cast<float>(a.number("lr", 1e-3));
  tc.schedule.min_lr = static_cast<float>(a.number("min-lr", tc.schedule.lr / 10));
  tc.schedule.warmup = a.integer("warmup", std::min<int64_t>(20, steps / 10));
  tc.schedule.total_steps = steps;
  tc.schedule.decay = decay_of(a.str("decay", "cosine"));
  tc.adamw.weight_decay = static_cast<float>(a.number("wd", 0.01));
  tc.adamw.beta2 = 0.999f;
  tc.clip = static_cast<float>(a.number("clip", 1.0));
  tc.seed = static_cast<uint64_t>(a.integer("seed", 1));
  tc.compute = a.flag("bf16") ? loom::nn::Compute::BF16 : loom::nn::Compute::F32;

  loom::ThreadPool pool(a.threads());
  loom::nn::CausalLm model(c);
  loom::train::load_hf_weights(model, init.weights);
  model.init_lora(tc.seed);
  model.exclude_norms_and_biases_from_decay();
  const int64_t trainable = loom::train::apply_train_mode(model, mode, -1);
  loom::train::ContrastiveTrainer trainer(model, data, tc, pool);

  // The embedding config DIR records: the trained pooling, L2-normalised (the loss is cosine).
  loom::embed::EmbedConfig ec;
  ec.pooling = loom::embed::pooling_from_name(loom::nn::seq_pool_name(tc.pooling));
  ec.normalize = true;
  ec.max_tokens = max_tokens;  // so loom embed truncates as training did
  ec.dims = a.integer("embed-dims", 0);
  if (ec.dims < 0 || ec.dims > c.d_model)
    throw UsageError{"flag --embed-dims: expected 0.." + std::to_string(c.d_model)};
  std::string what = "objective contrastive\ntrain " + mode.str() + "\npooling " +
                     loom::nn::seq_pool_name(tc.pooling) + "\ntemperature " +
                     std::to_string(tc.loss.temperature) + "\nsymmetric " +
                     (tc.loss.symmetric ? "1" : "0") + "\nmatryoshka";
  for (int64_t d : tc.matryoshka.empty() ? std::vector<int64_t>{c.d_model} : tc.matryoshka) {
    what += ' ';
    what += std::to_string(d);
  }
  what += "\nmax_tokens ";
  what += std::to_string(max_tokens);
  what += "\nlora_rank ";
  what += std::to_string(c.lora.rank);
  what += "\nlora_targets";
  for (const std::string& t : model.config().lora.targets) {
    what += ' ';
    what += t;
  }
  what += '\n';
  const std::string what_path = out + "/train_mode.txt";
  if (resume) {
    // The checkpoint holds values and moments, not the objective: --resume must train the same.
    const std::string prev = file_exists(what_path) ? loom::read_file(what_path) : std::string();
    if (prev != what)
      throw Error(
          what_path + ": the run was started with other settings (" + prev + "); resume " +
          "with the same --pooling/--temperature/--symmetric/--matryoshka/--max-tokens/--train");
    trainer.load_checkpoint(ckpt);
  }
  loom::write_file_atomic(what_path, what);

  std::string kept = "step,loss,lr,grad_norm,pairs_per_s,val_loss\n";
  if (resume) {
    // Log lines past the checkpoint (a run stopped between saves wrote them) are dropped.
    std::ifstream in(log_path);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("step", 0) != 0 && std::atoll(line.c_str()) <= trainer.steps_done())
        kept += line + "\n";
  }
  loom::write_file_atomic(log_path, kept);
  std::ofstream log(log_path, std::ios::app);
  if (!log) throw Error(log_path + ": cannot open for writing");
  const std::string base_config = init.config_json;
  auto save = [&] {
    trainer.save_checkpoint(ckpt);
    loom::train::save_hf_model(model, out, base_config);
    loom::embed::save_config(out, ec);
    loom::write_file_atomic(out + "/modules.json", modules_json(ec.normalize));
    log.flush();
    loom::train::write_loss_plot(log_path, out + "/loss.png");
  };
  const int64_t save_every = a.integer("save-every", 100);
  std::fprintf(stderr,
               "train-embed: %zu pairs (%lld with a hard negative, %lld texts truncated to %lld "
               "tokens), %s pooling, temperature %g, batch %lld, %lld steps\n",
               data.size(), static_cast<long long>(with_neg), static_cast<long long>(truncated),
               static_cast<long long>(max_tokens), loom::nn::seq_pool_name(tc.pooling),
               tc.loss.temperature, static_cast<long long>(tc.batch),
               static_cast<long long>(steps));
  auto t0 = std::chrono::steady_clock::now();
  float first = NAN, loss = NAN;
  const int64_t stop_at = std::min<int64_t>(steps, a.integer("stop-at", steps));
  while (trainer.steps_done() < stop_at) {
    auto ts = std::chrono::steady_clock::now();
    loom::train::StepStats st = trainer.step();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    if (std::isnan(first)) first = st.loss;
    loss = st.loss;
    char line[160];
    std::snprintf(line, sizeof line, "%lld,%.5f,%.3g,%.4f,%.1f,", static_cast<long long>(st.step),
                  st.loss, st.lr, st.grad_norm, static_cast<double>(tc.batch) / secs);
    log << line << "\n" << std::flush;
    std::fprintf(stderr, "step %lld/%lld loss %.4f lr %.3g grad_norm %.3f\n",
                 static_cast<long long>(st.step), static_cast<long long>(steps), st.loss, st.lr,
                 st.grad_norm);
    if (st.step % save_every == 0 && st.step != stop_at) save();
  }
  save();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // --probe FILE: the trained model's vectors of FILE's lines as the training graph computes them
  // (pooled, L2-normalised, --embed-dims applied), one line of numbers per text, for checking
  // that `loom embed --model DIR` gives the same.
  if (a.has("probe")) {
    const std::string text = loom::read_file(a.str("probe"));
    std::ofstream po_out(a.need("probe-out"));
    if (!po_out) throw Error(a.str("probe-out") + ": cannot open for writing");
    std::istringstream in(text);
    std::string line;
    loom::nn::Tape tape(pool);
    tape.set_grad_enabled(false);
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      std::vector<int32_t> ids = encode(line);
      tape.reset();
      loom::nn::Var v = trainer.embed(tape, {&ids});
      std::vector<float> row(tape.data(v), tape.data(v) + c.d_model);
      const int64_t n = loom::embed::finish(ec, row.data(), c.d_model);
      for (int64_t j = 0; j < n; ++j) po_out << (j ? " " : "") << row[static_cast<size_t>(j)];
      po_out << "\n";
    }
  }

  if (a.json()) {
    std::printf(
        "{\"steps\": %lld, \"pairs\": %zu, \"loss_first\": %.5f, \"loss\": %.5f, \"seconds\": "
        "%.1f, \"trainable\": %lld, \"pooling\": \"%s\", \"model\": %s}\n",
        static_cast<long long>(trainer.steps_done()), data.size(), first, loss, secs,
        static_cast<long long>(trainable), loom::nn::seq_pool_name(tc.pooling),
        loom::cli::json_quote(out).c_str());
  } else {
    std::printf(
        "steps\t%lld\npairs\t%zu\nloss_first\t%.4f\nloss\t%.4f\ntrainable\t%lld\npooling\t%s "
        "(L2-normalised)\nseconds\t%.1f\nmodel\t%s\nlog\t%s\n",
        static_cast<long long>(trainer.steps_done()), data.size(), first, loss,
        static_cast<long long>(trainable), loom::nn::seq_pool_name(tc.pooling), secs, out.c_str(),
        log_path.c_str());
  }
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "train-embed",
    "contrastive fine-tuning of a causal LM into a text embedder (InfoNCE, hard negatives, "
    "Matryoshka)",
    {
        {"init", "MODEL", "model to fine-tune: HF dir, GGUF or llama2.c .bin", ""},
        {"tokenizer", "FILE", "its tokenizer (default: the --init dir's tokenizer.json/.model)",
         ""},
        {"pairs", "FILE",
         "TSV query<TAB>positive[<TAB>negative], or JSONL {\"query\",\"positive\",\"negative\"}",
         ""},
        {"skip-bad", "", "skip malformed pair lines (listed on stderr) instead of stopping", ""},
        {"out", "DIR",
         "HF model dir + modules.json, 1_Pooling/config.json, checkpoint.loom, log.csv", ""},
        {"pooling", "KIND", "mean, last, cls or weighted-mean (as loom embed)", "mean"},
        {"temperature", "X", "InfoNCE temperature (similarity / X)", "0.05"},
        {"symmetric", "", "also the positive->query direction", ""},
        {"matryoshka", "D,D", "train these leading dims together (each re-normalised)", "width"},
        {"embed-dims", "N", "truncate_dim recorded for loom embed (0: all)", "0"},
        {"no-hard-negatives", "", "ignore the pairs' third column", ""},
        {"max-tokens", "N", "tokens per text, longer ones truncated", "min(128, context)"},
        {"train", "WHAT", "all or lora", "all"},
        {"lora-rank", "R", "LoRA rank", "8"},
        {"lora-alpha", "A", "LoRA alpha", "2*rank"},
        {"lora-targets", "LIST", "llama: q,k,v,o,gate,up,down; gpt2: qkv,o,fc,down", "q,v / qkv,o"},
        {"steps", "N", "optimiser steps", "200"},
        {"batch", "N", "pairs per step (in-batch negatives)", "32"},
        {"lr", "X", "peak learning rate", "1e-3"},
        {"min-lr", "X", "final learning rate", "lr/10"},
        {"warmup", "N", "linear warmup steps", "min(20, steps/10)"},
        {"decay", "KIND", "cosine, linear or constant", "cosine"},
        {"wd", "X", "AdamW weight decay (matrices only)", "0.01"},
        {"clip", "X", "global gradient-norm bound (0: off)", "1.0"},
        {"seed", "N", "batch-sampling (and LoRA init) seed", "1"},
        {"bf16", "", "bf16 matmuls with fp32 master weights", ""},
        {"save-every", "N", "steps between checkpoints", "100"},
        {"resume", "", "continue DIR/checkpoint.loom exactly (same flags)", ""},
        {"stop-at", "N", "stop (with a checkpoint) after step N, as if interrupted", ""},
        {"probe", "FILE", "after training, write the vectors of FILE's lines (training graph)", ""},
        {"probe-out", "FILE", "where --probe writes them (one line of numbers per text)", ""},
    },
    run_train_embed,
    "Texts are encoded with the tokenizer copied into DIR (tokenizer.json) exactly as\n"
    "`loom embed --model DIR` encodes them, truncated to --max-tokens; each step draws --batch\n"
    "distinct pairs from the seed, so the same seed, data and --threads give the same losses.\n"
    "Example (FOLDOC's train split as term -> definition pairs; every 10th line is held out):\n"
    "  awk -F'\\t' 'NR % 10 != 0 {print $1 \"\\t\" $2}' foldoc.tsv > pairs.tsv\n"
    "  loom train-embed --init stories260K.bin --tokenizer tok512.model --pairs pairs.tsv \\\n"
    "    --steps 300 --batch 32 --out emb/\n"
    "  loom eval retrieval --data foldoc.tsv --retriever dense --model emb/");
