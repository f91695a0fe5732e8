# The two commands of the README: `make run` and `make test`. Everything else is a helper.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
LOOM_DATA ?= $(abspath ../shared/data)
export LOOM_DATA
# ccache, when installed with a writable cache, serves compiles already made in any checkout (it
# is not a dependency: without it everything compiles). CCACHE_BASEDIR turns this checkout's paths
# relative and NOHASHDIR leaves the build folder out of the key, so a clone elsewhere hits too.
CCACHE_OK := $(shell d=$$(ccache --get-config cache_dir 2>/dev/null) && mkdir -p "$$d" 2>/dev/null \
  && test -w "$$d" && echo yes)
ifeq ($(CCACHE_OK),yes)
LAUNCHER := -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= true
endif

.PHONY: all deps build build-asan run run-gpt2 test test-release test-asan fuzz-smoke bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(LAUNCHER) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# ASan + UBSan, built with clang so the same configuration also builds the libFuzzer targets.
build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DLOOM_SANITIZE=ON -DLOOM_FUZZ=ON $(LAUNCHER) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@bash scripts/main-job.sh $(BUILD)/bin/loom

# The same job on a GPT-2-layout model with a byte-level BPE tokenizer, both trained here first.
run-gpt2: build
	@BASE=gpt2-bpe bash scripts/main-job.sh $(BUILD)/bin/loom

test: test-release test-asan fuzz-smoke

test-release: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE slow

fuzz-smoke: build-asan
	@bash scripts/fuzz-smoke.sh $(ASAN_BUILD)

bench: build
	@for b in $(BUILD)/bench/*_bench; do echo "== $$b"; $$b --benchmark_counters_tabular=true; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
