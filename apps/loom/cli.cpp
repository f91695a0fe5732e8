#include "cli.h"

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace loom::cli {

const std::vector<Flag>& common_flags() {
  static const std::vector<Flag> flags = {
      {"threads", "N", "threads to use (0 = all cores)", "1"},
      {"json", "", "machine-readable output where the output is data", ""},
      {"help", "", "show this help", ""},
  };
  return flags;
}

namespace {
const Flag* find_flag(const Command& cmd, const std::string& name) {
  for (const auto& f : cmd.flags)
    if (f.name == name) return &f;
  for (const auto& f : common_flags())
    if (f.name == name) return &f;
  return nullptr;
}
}  // namespace

Args::Args(const Command& cmd, const std::vector<std::string>& argv) : cmd_(cmd) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 2 && a.compare(0, 2, "--") == 0) {
      std::string name = a.substr(2), value;
      bool has_eq = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_eq = true;
      }
      const Flag* f = find_flag(cmd, name);
      if (f == nullptr) throw UsageError{"unknown flag --" + name + " (see loom " + cmd.name + " --help)"};
      if (!f->value_name.empty() && !has_eq) {
        if (i + 1 >= argv.size()) throw UsageError{"flag --" + name + " needs a value " + f->value_name};
        value = argv[++i];
      } else if (f->value_name.empty() && has_eq) {
        throw UsageError{"flag --" + name + " takes no value"};
      }
      values_[name] = value;
    } else if (a.size() > 1 && a[0] == '-' && a != "-" && !(a[1] >= '0' && a[1] <= '9')) {
      if (a == "-h") {
        values_["help"] = "";
        continue;
      }
      throw UsageError{"unknown option " + a + " (flags are written --name)"};
    } else {
      positional_.push_back(a);
    }
  }
}

std::string Args::str(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() ? def : it->second;
}

std::string Args::need(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw UsageError{"missing required flag --" + name};
  return it->second;
}

long long Args::integer(const std::string& name, long long def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0') {
    throw UsageError{"flag --" + name + ": expected an integer, got '" + it->second + "'"};
  }
  return v;
}

double Args::number(const std::string& name, double def) const {
  auto it = values_.find(name);
  if (it == values_.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0') {
    throw UsageError{"flag --" + name + ": expected a number, got '" + it->second + "'"};
  }
  return v;
}

int Args::threads() const {
  long long n = integer("threads", 1);
  if (n < 0 || n > 1024) throw UsageError{"flag --threads: expected 0..1024"};
  if (n == 0) n = static_cast<long long>(std::thread::hardware_concurrency());
  return static_cast<int>(n < 1 ? 1 : n);
}

Registry& Registry::instance() {
  static Registry r;
  return r;
}

void Registry::add(Command cmd) {
  std::string name = cmd.name;
  commands_.emplace(name, std::move(cmd));
}

std::string help_text(const Command& cmd) {
  std::string s = "usage: loom " + cmd.name + " [flags]\n\n" + cmd.summary + "\n";
  if (!cmd.details.empty()) s += "\n" + cmd.details + "\n";
  auto add = [&](const std::vector<Flag>& flags) {
    for (const auto& f : flags) {
      std::string left = "  --" + f.name + (f.value_name.empty() ? "" : " " + f.value_name);
      if (left.size() < 28) left.resize(28, ' ');
      else left += "  ";
      s += left + f.help;
      if (!f.default_value.empty()) s += " (default " + f.default_value + ")";
      s += "\n";
    }
  };
  if (!cmd.flags.empty()) {
    s += "\nflags:\n";
    add(cmd.flags);
  }
  s += "\ncommon flags:\n";
  add(common_flags());
  return s;
}

std::string json_quote(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\r': o += "\\r"; break;
      case '\t': o += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          o += buf;
        } else {
          o += static_cast<char>(c);
        }
    }
  }
  return o + "\"";
}

}  // namespace loom::cli
