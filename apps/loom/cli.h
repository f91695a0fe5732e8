// The `loom` command registry and flag parser. Commands live in cmd_*.cpp, each registering
// itself with LOOM_COMMAND; they parse and print only — algorithms live in src/.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace loom::cli {

struct Flag {
  std::string name;        // without dashes: "threads"
  std::string value_name;  // "N"; empty for a boolean switch
  std::string help;
  std::string default_value;  // shown in --help; "" when none
};

class Args;

struct Command {
  std::string name;  // "generate" or "tokenizer train"
  std::string summary;
  std::vector<Flag> flags;
  std::function<int(const Args&)> run;
  std::string details;  // extra --help text
};

// Flags every command accepts.
const std::vector<Flag>& common_flags();

class Args {
 public:
  // Parses argv against cmd's flags; throws UsageError on unknown flags or missing values.
  Args(const Command& cmd, const std::vector<std::string>& argv);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::string str(const std::string& name, const std::string& def = "") const;
  // Required flag; a usage error naming it when absent.
  std::string need(const std::string& name) const;
  long long integer(const std::string& name, long long def) const;
  double number(const std::string& name, double def) const;
  bool flag(const std::string& name) const { return has(name); }
  const std::vector<std::string>& positional() const { return positional_; }
  int threads() const;  // --threads, default 1... hardware concurrency when 0
  bool json() const { return has("json"); }

 private:
  const Command& cmd_;
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

struct UsageError {
  std::string message;
};

class Registry {
 public:
  static Registry& instance();
  void add(Command cmd);
  const std::map<std::string, Command>& commands() const { return commands_; }

 private:
  std::map<std::string, Command> commands_;
};

struct Registrar {
  explicit Registrar(Command cmd) { Registry::instance().add(std::move(cmd)); }
};

std::string help_text(const Command& cmd);

// Writes a JSON string literal (quotes and escapes) for --json output.
std::string json_quote(const std::string& s);

}  // namespace loom::cli

#define LOOM_CLI_CONCAT2(a, b) a##b
#define LOOM_CLI_CONCAT(a, b) LOOM_CLI_CONCAT2(a, b)
#define LOOM_COMMAND(...) \
  static ::loom::cli::Registrar LOOM_CLI_CONCAT(loom_command_, __LINE__)(::loom::cli::Command{__VA_ARGS__})
