#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "generate/sampler.h"

namespace loom::train {

using nn::ParamStore;
using nn::Tape;
using nn::Var;

namespace {

constexpr char kMagic[8] = {'L', 'O', 'O', 'M', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<uint8_t>(p[i])) * 0x100000001b3ull;
  return h;
}

std::string config_text(const models::DecoderConfig& c) {
  std::ostringstream os;
  os << "arch " << c.arch << "\n"
     << "vocab_size " << c.vocab_size << "\nmax_seq " << c.context_length << "\nd_model " << c.dim
     << "\nn_layers " << c.n_layers << "\nn_heads " << c.n_heads << "\nn_kv_heads " << c.n_kv_heads
     << "\nd_ff " << c.hidden_dim << "\ntie_embeddings " << c.tied_head << "\n";
  return os.str();
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

}  // namespace

std::vector<int32_t> sample_tokens(CausalLm& model, ThreadPool& pool, std::vector<int32_t> prompt,
                                   int64_t n, float temperature, uint64_t seed) {
  LOOM_ASSERT(!prompt.empty(), "sample_tokens needs a prompt");
  Tape tape(pool);
  tape.set_grad_enabled(false);
  generate::SamplerConfig sc;
  sc.temperature = temperature;
  sc.seed = seed;
  generate::Sampler sampler(sc);
  const int64_t vocab = model.config().vocab_size;
  std::vector<float> row(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t T =
        std::min<int64_t>(static_cast<int64_t>(prompt.size()), model.config().context_length);
    tape.reset();
    Var lg = model.logits(tape, prompt.data() + prompt.size() - T, 1, T);
    const float* last = tape.data(lg) + (T - 1) * vocab;
    row.assign(last, last + vocab);
    const int32_t next = sampler.sample(row, prompt);
    prompt.push_back(next);
  }
  return prompt;
}

CausalLmTrainer::CausalLmTrainer(CausalLm& model, const int32_t* tokens, int64_t n_tokens,
                                 TrainConfig cfg, ThreadPool& pool)
    : model_(model),
      cfg_(cfg),
      sampler_(tokens, n_tokens, cfg.batch, cfg.seq, cfg.seed),
      pool_(pool),
      opt_(model.params(), cfg.adamw),
      tape_(pool, cfg.compute),
      ids_(static_cast<size_t>(cfg.batch * cfg.seq)),
      targets_(static_cast<size_t>(cfg.batch * cfg.seq)) {
  check_train_config(cfg, model);
}

void check_train_config(const TrainConfig& cfg, const CausalLm& model) {
  if (cfg.batch <= 0 || cfg.seq <= 0 || cfg.grad_accum <= 0)
    throw Error("train config: batch, seq and grad_accum must be > 0");
  if (cfg.seq > model.config().context_length)
    throw Error("train config: seq " + std::to_string(cfg.seq) + " exceeds the model's max_seq " +
                std::to_string(model.config().context_length));
}

StepStats CausalLmTrainer::step() {
  const int64_t step = opt_.steps();
  const int64_t world = group_ ? group_->size() : 1, rank = group_ ? group_->rank() : 0;
  const int64_t micro_total = cfg_.grad_accum * world;
  model_.params().zero_grad();
  double loss_sum = 0;
  int64_t bad_micro = -1;  // first micro-batch (global index) with a NaN/Inf loss
  bool bad_nan = false;
  for (int64_t m = 0; m < cfg_.grad_accum; ++m) {
    const int64_t gm = m * world + rank;
    sampler_.sample(step, gm, ids_.data(), targets_.data());
    tape_.reset();
    Var loss = model_.loss(tape_, ids_.data(), targets_.data(), cfg_.batch, cfg_.seq);
    const float l = tape_.data(loss)[0];
    if (!std::isfinite(l)) {
      bad_micro = gm;
      bad_nan = std::isnan(l);
      break;
    }
    loss_sum += l;
    tape_.backward(loss, 1.0f / static_cast<float>(micro_total));
  }
  if (world > 1) {
    // Every process learns of a bad loss in the same collective, so all stop together.
    double shared[2] = {loss_sum, bad_micro >= 0 ? 1.0 : 0.0};
    group_->allreduce_sum(shared, 2);
    loss_sum = shared[0];
    if (shared[1] > 0 && bad_micro < 0) bad_micro = micro_total;  // another process's
    if (bad_micro < 0) {
      ParamStore& ps = model_.params();
      group_->allreduce_sum(ps.grads(), static_cast<size_t>(ps.numel()));
    }
  }
  if (bad_micro >= 0)
    throw Error("training: loss is " +
                std::string(bad_micro == micro_total ? "NaN/Inf"
                            : bad_nan                ? "NaN"
                                                     : "Inf") +
                " at step " + std::to_string(step + 1) +
                (bad_micro < micro_total ? " (micro-batch " + std::to_string(bad_micro) + ")"
                                         : std::string(" (on another process)")) +
                "; stopped before updating, the last checkpoint is the last good state");
  return finish_step(model_.params(), opt_, cfg_.schedule, cfg_.clip, pool_, step,
                     static_cast<float>(loss_sum / static_cast<double>(micro_total)));
}

std::vector<int64_t> seeded_order(size_t n, uint64_t seed) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.next_u64() % i]);
  return order;
}

void micro_batch_pick(const std::vector<int64_t>& order, const TrainConfig& cfg, int64_t step,
                      int64_t m, std::vector<int64_t>& pick) {
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t first = (step * cfg.grad_accum + m) * cfg.batch;
  pick.resize(static_cast<size_t>(cfg.batch));
  for (int64_t k = 0; k < cfg.batch; ++k) pick[k] = order[(first + k) % n];
}

StepStats example_step(
    nn::ParamStore& params, nn::AdamW& opt, const TrainConfig& cfg,
    const std::vector<int64_t>& order, ThreadPool& pool, int64_t step,
    const std::function<float(const std::vector<int64_t>&, int64_t, float)>& micro) {
  params.zero_grad();
  double loss_sum = 0;
  std::vector<int64_t> pick(static_cast<size_t>(cfg.batch));
  for (int64_t m = 0; m < cfg.grad_accum; ++m) {
    micro_batch_pick(order, cfg, step, m, pick);
    loss_sum += micro(pick, m, 1.0f / static_cast<float>(cfg.grad_accum));
  }
  return finish_step(params, opt, cfg.schedule, cfg.clip, pool, step,
                     static_cast<float>(loss_sum / static_cast<double>(cfg.grad_accum)));
}

void for_each_batch(size_t n, int64_t batch,
                    const std::function<void(const std::vector<int64_t>&)>& fn) {
  std::vector<int64_t> pick;
  for (size_t begin = 0; begin < n; begin += static_cast<size_t>(batch)) {
    pick.clear();
    for (size_t k = begin; k < std::min(n, begin + static_cast<size_t>(batch)); ++k)
      pick.push_back(static_cast<int64_t>(k));
    fn(pick);
  }
}

StepStats finish_step(ParamStore& params, nn::AdamW& opt, const Schedule& schedule, float clip,
                      ThreadPool& pool, int64_t step, float loss) {
  StepStats st;
  st.step = step + 1;
  st.loss = loss;
  st.grad_norm = nn::clip_grad_norm(params, clip, pool);
  if (!std::isfinite(st.grad_norm))
    throw Error("training: gradient norm is not finite at step " + std::to_string(step + 1) +
                "; stopped before updating, the last checkpoint is the last good state");
  st.lr = schedule.at(step);
  opt.step(st.lr, pool);
  return st;
}

float CausalLmTrainer::evaluate(const int32_t* tokens, int64_t n_tokens, int64_t batches,
                                uint64_t seed) {
  const BatchSampler sampler(tokens, n_tokens, cfg_.batch, cfg_.seq, seed, "validation data");
  double sum = 0;
  tape_.set_grad_enabled(false);
  for (int64_t i = 0; i < batches; ++i) {
    sampler.sample(i, 0, ids_.data(), targets_.data());
    tape_.reset();
    Var loss = model_.loss(tape_, ids_.data(), targets_.data(), cfg_.batch, cfg_.seq);
    sum += tape_.data(loss)[0];
  }
  tape_.set_grad_enabled(true);
  tape_.reset();
  return static_cast<float>(sum / static_cast<double>(batches));
}

void CausalLmTrainer::save_checkpoint(const std::string& path) const {
  save_train_checkpoint(model_, opt_, path);
}

void CausalLmTrainer::load_checkpoint(const std::string& path) {
  load_train_checkpoint(model_, opt_, path);
}

void save_train_checkpoint(CausalLm& model, const nn::AdamW& opt, const std::string& path) {
  ParamStore& ps = model.params();
  std::ostringstream hdr;
  hdr << config_text(model.config()) << "step " << opt.steps() << "\nstore_numel " << ps.numel()
      << "\n";
  for (const auto& p : ps.params())
    hdr << "param " << p->name << " " << p->offset << " " << p->numel() << "\n";
  const std::string header = hdr.str();
  const size_t block = static_cast<size_t>(ps.numel()) * sizeof(float);
  std::string out;
  out.reserve(8 + 4 + 8 + header.size() + 3 * block + 8);
  out.append(kMagic, 8);
  put<uint32_t>(out, kVersion);
  put<uint64_t>(out, header.size());
  out += header;
  out.append(reinterpret_cast<const char*>(ps.values()), block);
  out.append(reinterpret_cast<const char*>(const_cast<nn::AdamW&>(opt).m().data()), block);
  out.append(reinterpret_cast<const char*>(const_cast<nn::AdamW&>(opt).v().data()), block);
  put<uint64_t>(out, fnv1a(out.data(), out.size()));
  write_file_atomic(path, out);
}

void load_train_checkpoint(CausalLm& model, nn::AdamW& opt, const std::string& path) {
  auto file = MappedFile::open(path);
  ByteReader r(file->data(), file->size(), path);
  if (file->size() < 8 + 4 + 8 + 8) r.fail("a Loom checkpoint (file too short)");
  const uint64_t want = fnv1a(reinterpret_cast<const char*>(file->data()), file->size() - 8);
  uint64_t stored;
  std::memcpy(&stored, file->data() + file->size() - 8, 8);
  if (std::memcmp(r.take(8, "magic"), kMagic, 8) != 0) r.fail("magic LOOMCKPT");
  const uint32_t version = r.read<uint32_t>("version");
  if (version != kVersion)
    throw Error(path + ": checkpoint version " + std::to_string(version) + ", expected " +
                std::to_string(kVersion));
  if (stored != want)
    throw Error(path + ": checksum mismatch (the file is corrupted or truncated)");
  const uint64_t hlen = r.read<uint64_t>("header length");
  const std::string header = r.read_string(static_cast<size_t>(hlen), "header");
  ParamStore& ps = model.params();
  std::ostringstream expect;
  expect << config_text(model.config());
  if (header.compare(0, expect.str().size(), expect.str()) != 0)
    throw Error(path + ": header config does not match the model being trained:\n" +
                header.substr(0, header.find("step ")) + "expected:\n" + expect.str());
  std::istringstream hs(header.substr(expect.str().size()));
  std::string key;
  int64_t step = -1, numel = -1;
  hs >> key >> step;
  if (key != "step" || step < 0) throw Error(path + ": header field 'step' missing or invalid");
  hs >> key >> numel;
  if (key != "store_numel" || numel != ps.numel())
    throw Error(path + ": header field 'store_numel' is " + std::to_string(numel) + ", expected " +
                std::to_string(ps.numel()));
  for (const auto& p : ps.params()) {
    std::string tag, name;
    int64_t off, n;
    hs >> tag >> name >> off >> n;
    if (tag != "param" || name != p->name || off != p->offset || n != p->numel())
      throw Error(path + ": parameter entry '" + name + "' does not match the model's '" + p->name +
                  "'");
  }
  const size_t block = static_cast<size_t>(ps.numel()) * sizeof(float);
  if (r.remaining() != 3 * block + 8) r.fail(std::to_string(3 * block) + " bytes of tensors");
  std::memcpy(ps.values(), r.take(block, "values"), block);
  std::memcpy(opt.m().data(), r.take(block, "adam m"), block);
  std::memcpy(opt.v().data(), r.take(block, "adam v"), block);
  opt.set_steps(step);
}

}  // namespace loom::train
