// loom: one CLI, `loom <command> [<subcommand>] [--flags]`. Errors become one line on stderr.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.h"
#include "core/error.h"

#ifndef LOOM_VERSION
#define LOOM_VERSION "dev"
#endif

namespace {

void print_overview() {
  std::printf("loom %s: tokenizers, models, training, embeddings, search\n\n", LOOM_VERSION);
  std::printf("usage: loom <command> [<subcommand>] [--flags]\n\ncommands:\n");
  for (const auto& [name, cmd] : loom::cli::Registry::instance().commands()) {
    std::string left = "  " + name;
    if (left.size() < 26) left.resize(26, ' ');
    std::printf("%s%s\n", left.c_str(), cmd.summary.c_str());
  }
  std::printf("\n`loom <command> --help` shows a command's flags; --version prints the version.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_overview();
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("loom %s\n", LOOM_VERSION);
    return 0;
  }
  const auto& commands = loom::cli::Registry::instance().commands();
  // The longest registered name that prefixes the arguments: "tokenizer train" before "tokenizer".
  const loom::cli::Command* cmd = nullptr;
  size_t used = 0;
  for (size_t n = std::min<size_t>(args.size(), 3); n >= 1 && cmd == nullptr; --n) {
    std::string name = args[0];
    for (size_t i = 1; i < n; ++i) name += " " + args[i];
    auto it = commands.find(name);
    if (it != commands.end()) {
      cmd = &it->second;
      used = n;
    }
  }
  if (cmd == nullptr) {
    // A group name alone ("loom tokenizer") lists its subcommands.
    std::string prefix = args[0] + " ";
    bool group = false;
    for (const auto& [name, c] : commands) {
      if (name.compare(0, prefix.size(), prefix) == 0) {
        if (!group) std::printf("loom %s subcommands:\n", args[0].c_str());
        group = true;
        std::printf("  %-24s%s\n", name.c_str(), c.summary.c_str());
      }
    }
    if (group) return 2;
    std::fprintf(stderr, "loom: unknown command '%s' (see loom --help)\n", args[0].c_str());
    return 2;
  }
  try {
    loom::cli::Args parsed(*cmd, std::vector<std::string>(args.begin() + static_cast<long>(used), args.end()));
    if (parsed.has("help")) {
      std::fputs(loom::cli::help_text(*cmd).c_str(), stdout);
      return 0;
    }
    return cmd->run(parsed);
  } catch (const loom::cli::UsageError& e) {
    std::fprintf(stderr, "loom %s: %s\n", cmd->name.c_str(), e.message.c_str());
    return 2;
  } catch (const loom::Error& e) {
    std::fprintf(stderr, "loom %s: error: %s\n", cmd->name.c_str(), e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "loom %s: error: out of memory\n", cmd->name.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom %s: error: %s\n", cmd->name.c_str(), e.what());
    return 1;
  }
}
