// `loom train`: train a causal LM (Llama or GPT-2 layout) from scratch or continue an existing
// model (--init: a Hugging Face directory, GGUF or llama2.c checkpoint), on a text file (bytes,
// or the model's tokenizer) or a token shard; all parameters, only new embedding rows, LoRA
// adapters, or both. Progress bar, CSV log, validation loss before and after, atomic checkpoints
// with exact --resume, and a Hugging Face directory as output. Parsing and printing only: the
// run is train/run.h.
#include <cmath>
#include <cstdio>
#include <string>

#include "cli.h"
#include "cmd_train_finetune.h"
#include "cmd_train_rnn.h"
#include "core/error.h"
#include "core/progress.h"
#include "train/run.h"
#include "train_flags.h"

namespace {

using loom::Error;
using loom::cli::Args;
using loom::cli::UsageError;

void check_data_flags(const Args& a) {
  if (a.has("text") == a.has("shard"))
    throw UsageError{"give exactly one of --text FILE or --shard FILE"};
  const long long every = a.integer("heldout-every", 0);
  if (every < 0 || every == 1) throw UsageError{"flag --heldout-every: expected 0 (off) or N >= 2"};
  if (a.has("shard") && every > 0)
    throw UsageError{"--heldout-every splits --text lines; with --shard pass --val-shard"};
  if (a.has("text") && a.has("val-shard")) throw UsageError{"--val-shard goes with --shard"};
}

// --train, --base-vocab, --lora-*, and the shape of a model from scratch.
void model_flags(const Args& a, loom::train::LmRunOptions& o) {
  loom::cli::train_mode_flags(a, o.mode, o.lora);
  o.base_vocab = a.integer("base-vocab", -1);
  const std::string arch = a.str("arch", "llama");
  if (arch != "llama" && arch != "gpt2") throw UsageError{"flag --arch: expected llama or gpt2"};
  o.shape.arch = arch;
  o.shape.d_model = a.integer("d-model", 128);
  o.shape.n_layers = a.integer("layers", 4);
  o.shape.n_heads = a.integer("heads", 4);
  o.shape.n_kv_heads = a.integer("kv-heads", 0);
  o.shape.d_ff = a.integer("ff", 0);
}

loom::train::LmRunOptions run_options(const Args& a) {
  check_data_flags(a);
  loom::train::LmRunOptions o;
  o.out = a.need("out");
  o.text = a.str("text");
  o.shard = a.str("shard");
  o.val_shard = a.str("val-shard");
  o.heldout_every = a.integer("heldout-every", 0);
  o.val_frac = a.number("val-frac", 0.1);
  o.init = a.str("init");
  o.tokenizer = a.str("tokenizer");
  o.resume = a.flag("resume");
  model_flags(a, o);
  o.seq = a.integer("seq", 0);
  loom::train::TrainConfig& tc = o.train;
  loom::cli::train_config_flags(a, tc, 16, 1e-3, 100, 0.1);
  o.steps = a.integer("steps", 1000);
  o.eval_every = a.integer("eval-every", 100);
  o.eval_batches = a.integer("eval-batches", 8);
  o.save_every = a.integer("save-every", 100);
  o.stop_at = a.integer("stop-at", 0);
  o.sample = a.integer("sample", -1);
  return o;
}

void print_json(const loom::train::LmRunResult& r) {
  using loom::cli::json_quote;
  std::printf(
      "{\"steps\": %lld, \"train\": \"%s\", \"loss\": %.5f, \"val_loss_before\": %.5f, "
      "\"val_loss\": %.5f, \"seconds\": %.1f, \"params\": %lld, \"trainable\": %lld, "
      "\"train_tokens\": %lld, \"val_tokens\": %lld, \"original_rows_sha256_before\": %s, "
      "\"original_rows_sha256_after\": %s, \"model\": %s, \"checkpoint\": %s, \"adapter\": %s, "
      "\"adapter_bytes\": %lld, \"sample\": %s}\n",
      static_cast<long long>(r.steps), r.mode.c_str(), r.loss, r.val_loss_before, r.val_loss,
      r.seconds, static_cast<long long>(r.params), static_cast<long long>(r.trainable),
      static_cast<long long>(r.train_tokens), static_cast<long long>(r.val_tokens),
      json_quote(r.rows_sha256_before).c_str(), json_quote(r.rows_sha256_after).c_str(),
      json_quote(r.model_dir).c_str(), json_quote(r.checkpoint).c_str(),
      json_quote(r.adapter).c_str(), static_cast<long long>(r.adapter_bytes),
      json_quote(r.sample).c_str());
}

void print_text(const loom::train::LmRunResult& r, bool new_embeddings) {
  std::printf(
      "steps\t%lld\ntrain\t%s\nloss\t%.4f\nval_loss_before\t%.4f (perplexity %.2f)\n"
      "val_loss\t%.4f (perplexity %.2f)\nparams\t%lld\n"
      "trainable\t%lld\ntrain_tokens\t%lld (%lld documents)\nval_tokens\t%lld (%lld "
      "documents)\nseconds\t%.1f\nmodel\t%s\ncheckpoint\t%s\nlog\t%s\n",
      static_cast<long long>(r.steps), r.mode.c_str(), r.loss, r.val_loss_before,
      std::exp(r.val_loss_before), r.val_loss, std::exp(r.val_loss),
      static_cast<long long>(r.params), static_cast<long long>(r.trainable),
      static_cast<long long>(r.train_tokens), static_cast<long long>(r.docs_train),
      static_cast<long long>(r.val_tokens), static_cast<long long>(r.docs_val), r.seconds,
      r.model_dir.c_str(), r.checkpoint.c_str(), r.log.c_str());
  std::printf("plot\t%s\n", r.plot.c_str());
  if (!r.adapter.empty())
    std::printf("adapter\t%s (PEFT layout, %lld bytes)\n", r.adapter.c_str(),
                static_cast<long long>(r.adapter_bytes));
  if (new_embeddings)
    std::printf("original_rows_sha256\t%s -> %s (%s)\n", r.rows_sha256_before.c_str(),
                r.rows_sha256_after.c_str(),
                r.rows_sha256_before == r.rows_sha256_after ? "unchanged" : "CHANGED");
  if (!r.sample.empty()) std::printf("sample\n%s\n", r.sample.c_str());
}

int run_train(const Args& a) {
  if (loom::cli::is_recurrent_arch(a.str("arch"))) return loom::cli::run_train_recurrent(a);
  const std::string objective = a.str("objective", "clm");
  if (objective == "mlm" || objective == "span" || objective == "denoise")
    return loom::cli::run_train_mlm(a);
  if (objective != "clm") throw UsageError{"flag --objective: expected clm, mlm, span or denoise"};
  for (const char* f : {"config", "mlm-probability", "whole-word"})
    if (a.has(f))
      throw UsageError{std::string("--") + f + " goes with --objective mlm|span|denoise"};
  if (a.str("task", "clm") != "clm") return loom::cli::run_train_finetune(a);
  if (a.has("data") || a.has("eval"))
    throw UsageError{"--data and --eval go with --task sft|dpo|reward|classify|token-classify"};
  if (a.has("pooling")) throw UsageError{"--pooling goes with --task classify"};
  const loom::train::LmRunOptions o = run_options(a);
  loom::ThreadPool pool(a.threads());
  loom::train::LmRun run(o, pool, [](const std::string& note) {
    std::fprintf(stderr, "loom train: %s\n", note.c_str());
  });
  loom::Progress bar("train", run.tokens_to_train(), "tok", run.root() && loom::stderr_is_tty());
  const loom::train::LmRunResult r = run.train([&](const loom::train::LmStepReport& s) {
    char extra[96];
    std::snprintf(extra, sizeof extra, "loss %.3f val %.3f", s.stats.loss, s.val_loss);
    bar.update(s.tokens_done, extra);
  });
  bar.finish();
  if (!r.root) return 0;
  if (a.json())
    print_json(r);
  else
    print_text(r, o.mode.new_embeddings);
  if (r.rows_sha256_before != r.rows_sha256_after)
    throw Error("original embedding rows changed (a bug): see above");
  return 0;
}

}  // namespace

LOOM_COMMAND(
    "train",
    "train a causal LM (Llama or GPT-2 layout) from scratch or continue one (--init): all "
    "weights, new embedding rows, LoRA",
    {
        {"task", "TASK",
         "clm: next-token loss on --text/--shard; sft: responses of --data JSONL (prompt/"
         "completion, NaturalInstructions, chat); dpo: --data preference pairs "
         "(prompt/chosen/rejected); reward: a reward model (score.weight head) on those pairs; "
         "classify: sequence classification on --data TSV (sentence<TAB>label, a header) or "
         "JSONL {text, label}; token-classify: tagging on --data CoNLL (word<TAB>tag, blank line "
         "between sentences) or JSONL {tokens, tags}",
         "clm"},
        {"pooling", "KIND",
         "--task classify: the head on the mean, cls (first) or last token's hidden state "
         "instead of the model's own (BERT: pooler; decoders: last)",
         ""},
        {"data", "FILE", "training data (--task sft|dpo|reward: JSONL; classify: TSV or JSONL)",
         ""},
        {"eval", "FILE",
         "held-out data, --data's format (--task sft|dpo|reward|classify; or --heldout-every N)",
         ""},
        {"num-labels", "N", "--task classify: the head's labels (default 1 + the largest)", ""},
        {"objective", "KIND",
         "clm (next token); mlm: masked-LM pre-training of an encoder on --text (dynamic "
         "masking, 15 %, 80/10/10); span: T5 span corruption; denoise: BART text infilling + "
         "sentence permutation",
         "clm"},
        {"config", "FILE",
         "--objective mlm|span|denoise: config.json of a new BERT/RoBERTa, T5 or BART (or --init)",
         ""},
        {"mlm-probability", "X", "--objective mlm: share of tokens chosen", "0.15"},
        {"whole-word", "", "--objective mlm: mask whole WordPiece words", ""},
        {"chat-template", "FILE", "tokenizer_config.json whose chat_template renders chats", ""},
        {"beta", "X", "DPO beta (KL strength)", "0.1"},
        {"label-smoothing", "X", "DPO: share of preference labels assumed wrong", "0"},
        {"loss", "KIND", "DPO loss: sigmoid or ipo", "sigmoid"},
        {"pack", "",
         "--task sft: examples end to end in --seq rows (attention and positions restart at "
         "each) instead of one padded example per row",
         ""},
        {"sample-eval", "N",
         "--task sft|dpo: N sampled completions of every held-out prompt before and after "
         "training (DIR/samples_before.jsonl, DIR/samples.jsonl) and the KL to --init",
         "0"},
        {"sample-tokens", "N", "--sample-eval: new tokens per completion at most", "32"},
        {"text", "FILE", "train on a text file: its bytes, or the tokenizer's ids (one doc/line)",
         ""},
        {"shard", "FILE", "train on a token shard (loom data tokenize)", ""},
        {"val-shard", "FILE", "held-out token shard (with --shard)", ""},
        {"init", "MODEL", "continue this model: HF dir (model.safetensors+config.json), GGUF, .bin",
         ""},
        {"tokenizer", "FILE",
         "tokenizer for --text (default: the --init dir's tokenizer.json/.model)", ""},
        {"heldout-every", "N",
         "hold out --text (or --data) lines whose 1-based number is divisible by N (0: none)", "0"},
        {"out", "DIR",
         "run folder: model.safetensors, config.json, tokenizer, checkpoint.loom, log.csv, "
         "loss.png; and adapter/ (PEFT adapter_config.json + adapter_model.safetensors + "
         "tokenizer) "
         "unless --train all",
         ""},
        {"resume", "", "continue DIR/checkpoint.loom exactly", ""},
        {"train", "WHAT", "all, new-embeddings, lora, new-embeddings,lora", "all"},
        {"base-vocab", "N", "rows below N stay frozen (new-embeddings)",
         "config.json loom_extension"},
        {"lora-rank", "R", "LoRA rank", "8"},
        {"lora-alpha", "A", "LoRA alpha (update scaled by alpha/rank)", "2*rank"},
        {"lora-targets", "LIST", "llama: q,k,v,o,gate,up,down; gpt2: qkv,o,fc,down", "q,v / qkv,o"},
        {"arch", "NAME",
         "llama or gpt2 (from scratch); lstm, gru, rnn_tanh, rnn_relu: a word-level recurrent LM",
         "llama"},
        {"val-text", "FILE", "held-out text (recurrent --arch)", ""},
        {"dropout", "X", "dropout on embeddings, between layers and on the output (recurrent)",
         "0.2"},
        {"tie", "", "tie the output layer to the embedding (recurrent; emb = hidden)", ""},
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
    "Recurrent LM (--arch lstm|gru|rnn_tanh|rnn_relu): words split on spaces, <eos> per line\n"
    "(Penn Treebank style); truncated BPTT over --batch streams (default 20) of --seq steps\n"
    "(default 35), state carried between steps; defaults --d-model 200, --layers 2, --lr 2e-3,\n"
    "--clip 0.25, --wd 0; writes model.safetensors (PyTorch word_language_model names):\n"
    "  loom train --arch lstm --text ptb.train.txt --val-text ptb.valid.txt --out lm/\n"
    "Fine-tuning (--task sft|dpo|reward, --init required; defaults --steps 100, --batch 8, --lr "
    "1e-4,\n"
    "--warmup 10, --wd 0, --eval-every 20, --save-every 20, --seq min(256, context)): examples\n"
    "longer than --seq are cut at the end; one left without a response token is an error naming\n"
    "its JSONL line. DPO's reference log-probs (the --init model) are computed once into\n"
    "DIR/ref_logprobs.loom and reused by --resume; log.csv adds the rewards, margin and accuracy:\n"
    "  loom train --task sft --init stories260K.bin --tokenizer tok512.model \\\n"
    "    --data define.jsonl --heldout-every 10 --train lora --out sft/\n"
    "  loom train --task dpo --init sft/ --data pairs.jsonl --eval pairs_eval.jsonl \\\n"
    "    --beta 0.1 --loss sigmoid --out dpo/\n"
    "Masked-LM pre-training (--objective mlm; defaults --batch 32, --seq 128, --lr 5e-4,\n"
    "--wd 0.01): --text lines packed into [CLS] ... [SEP] sequences, a fresh mask every step:\n"
    "  loom train --objective mlm --config bert_small.json --tokenizer vocab.txt \\\n"
    "    --text corpus.txt --heldout-every 50 --steps 3000 --out mlm/\n"
    "Encoder-decoder pre-training, the same run folder: --objective span (a T5 config.json; T5's\n"
    "noise density 0.15, mean span 3; <extra_id_0..99> added to the tokenizer when absent) or\n"
    "--objective denoise (a BART config.json; 30 % of words masked in Poisson(3) spans, sentences\n"
    "permuted):\n"
    "  loom train --objective span --config t5_small.json --tokenizer vocab.txt \\\n"
    "    --text corpus.txt --heldout-every 50 --steps 3000 --out t5/\n"
    "Sequence classification (--task classify): BERT/RoBERTa with a pooler get\n"
    "BertForSequenceClassification's classifier.weight/bias on the pooled [CLS]; decoders get\n"
    "score.weight at the last token. Mean cross-entropy; --eval prints accuracy, per-class\n"
    "precision/recall/F1, macro-F1 and the confusion matrix of the final model:\n"
    "  loom train --task classify --init bert/ --data sst2/train.tsv --eval sst2/dev.tsv \\\n"
    "    --steps 2000 --batch 32 --lr 5e-5 --seq 64 --out cls/\n"
    "Token classification (--task token-classify): the same head on every token's hidden\n"
    "state (BertForTokenClassification), each word's tag on its first sub-token; the labels are\n"
    "the sorted tags of --data (config.json id2label); --eval prints token accuracy and\n"
    "seqeval's entity-level precision/recall/F1 per type:\n"
    "  loom train --task token-classify --init bert/ --data ner/train.conll \\\n"
    "    --eval ner/dev.conll --steps 500 --lr 5e-5 --out ner/\n"
    "Data parallel: mpirun -np W loom train ... runs W replicas, each on its share of every\n"
    "step's micro-batches, with gradients summed across them (global batch = batch x accum x W;\n"
    "W processes with --accum A take the steps of one process with --accum A*W). Process 0\n"
    "writes the run folder.");
