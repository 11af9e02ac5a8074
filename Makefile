# wirecache - the only entry point.
#
#   make          build everything (release variant)
#   make deps     install the Debian packages the project needs (only missing ones), then
#                 check that everything it uses is there (tools/deps.sh --check)
#   make test     deps + unit tests (release and ASan/UBSan) + stress test + dts suites
#                 (dts needs root: network namespaces and hugepages)
#   make bench    deps + benchmarks, printing ratios against baselines from the same run
#                 (CORES=1,2,4,6 adds the scaling table: k dataplane lcores beside testpmd's
#                 ceiling at k; a k needing more than the machine's CPUs is left unmeasured)
#   make bench-quick  a subset for development (under 2 minutes)
#   make bench-cluster  the cluster's figures on the testbed (root): slot map change to
#                 every dataplane, p50/max over 20 changes on 3 nodes (not in bench or test);
#                 live reshard keys/s; memcached GETs forwarded to the owner vs served
#                 locally (ops/s, added p50/p99, node's own forward latency; TCP and UDP);
#                 3 nodes' aggregate GET rate beside one node (ratio.cluster3_vs_node1_get)
#                 (results go to build/bench-results/; RECORD=1 writes bench/results/,
#                 the committed record, instead)
#   make fuzz     libFuzzer harnesses, each bounded by FUZZ_SECONDS
#   make run      deps + build + the appliance on the virtual testbed
#
# Objects go to build/<variant>/; variants: rel (-O2) and asan (ASan+UBSan).

SHELL := /bin/bash
.DEFAULT_GOAL := all
BUILD ?= build
CC ?= gcc
CLANG ?= clang
FUZZ_SECONDS ?= 60
# make bench RECORD=1: refresh the committed bench/results/ (else build/bench-results/)
BENCH_RESULTS = $(if $(filter 1,$(RECORD)),bench/results,$(BUILD)/bench-results)

PKGS := libdpdk liburcu-qsbr cmocka inih libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DALLOW_EXPERIMENTAL_API -g $(WARN) -Iinclude -Idataplane -MMD -MP
REL_CFLAGS := -O2
ASAN_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LDLIBS_COMMON = $(PKG_LIBS) -lpthread -lm

STORE_SRC := $(wildcard dataplane/store/*.c) $(wildcard common/*.c) dataplane/core/mem_dpdk.c \
	dataplane/core/fence.c $(wildcard dataplane/proto/*.c)
NET_SRC := $(filter-out dataplane/core/mem_dpdk.c dataplane/core/fence.c,$(wildcard dataplane/core/*.c)) \
	$(wildcard dataplane/net/*.c) $(wildcard dataplane/redis/*.c) \
	$(wildcard dataplane/cluster/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
STRESS_SRC := $(wildcard tests/stress/*.c)
BENCH_SRC := $(wildcard tools/bench/*.c)
TOOLS_COMMON := $(wildcard tools/common/*.c)

define variant
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/$(1)/%.o,$$(STORE_SRC))
$(1)_NET_OBJ := $$(patsubst %.c,$(BUILD)/$(1)/%.o,$$(NET_SRC))
$(1)_LIB := $(BUILD)/$(1)/libwcstore.a
$(1)_NETLIB := $(BUILD)/$(1)/libwcnet.a
$(1)_DP := $(BUILD)/$(1)/wirecache-dp
$(1)_UNIT := $$(patsubst tests/unit/%.c,$(BUILD)/$(1)/tests/%,$$(UNIT_SRC))
$(1)_STRESS := $$(patsubst tests/stress/%.c,$(BUILD)/$(1)/tests/%,$$(STRESS_SRC))

$(BUILD)/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(BASE_CFLAGS) $(2) $$(PKG_CFLAGS) -c $$< -o $$@

$$($(1)_LIB): $$($(1)_OBJ)
	@rm -f $$@
	ar rcs $$@ $$^

$$($(1)_NETLIB): $$($(1)_NET_OBJ)
	@rm -f $$@
	ar rcs $$@ $$^

$$($(1)_DP): $(BUILD)/$(1)/dataplane/main.o $$($(1)_NETLIB) $$($(1)_LIB)
	$$(CC) $(2) $$^ $$(LDLIBS_COMMON) -o $$@

$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/tests/unit/%.o $$($(1)_NETLIB) $$($(1)_LIB)
	$$(CC) $(2) $$^ $$(LDLIBS_COMMON) -o $$@

$(BUILD)/$(1)/tests/stress_%: $(BUILD)/$(1)/tests/stress/stress_%.o $$($(1)_LIB)
	$$(CC) $(2) $$< $$($(1)_LIB) $$(LDLIBS_COMMON) -o $$@

endef

$(eval $(call variant,rel,$(REL_CFLAGS)))
$(eval $(call variant,asan,$(ASAN_CFLAGS)))

BENCH_BIN := $(patsubst tools/bench/%.c,$(BUILD)/rel/bench/%,$(BENCH_SRC))
TOOLS_COMMON_OBJ := $(patsubst %.c,$(BUILD)/rel/%.o,$(TOOLS_COMMON))

BENCH_LIBS = $(shell pkg-config --libs jansson liburcu-cds 2>/dev/null)

$(BUILD)/rel/bench/%: $(BUILD)/rel/tools/bench/%.o $(TOOLS_COMMON_OBJ) $(rel_NETLIB) $(rel_LIB)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) $^ $(BENCH_LIBS) $(LDLIBS_COMMON) -o $@

.SECONDARY:

# header dependencies of everything built so far (libraries, tests, benchmarks)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

include tools/loadgen/loadgen.mk
include control/control.mk

.PHONY: all deps test unit unit-asan stress dts bench bench-quick bench-cluster fuzz run clean

all: $(rel_DP) $(rel_LIB) $(rel_UNIT) $(rel_STRESS) $(BENCH_BIN)

deps:
	@tools/deps.sh
	@tools/deps.sh --check

unit: $(rel_UNIT)
	@tools/run-tests.sh $(rel_UNIT)

unit-asan: $(asan_UNIT)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tools/run-tests.sh $(asan_UNIT)

stress: $(asan_STRESS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tools/run-tests.sh $(asan_STRESS)

dts: $(rel_DP) $(LOADGEN)
	@tools/run-dts.sh

# everything make test runs, built first on all cores; the suites then run one
# after another (they share the machine's two cores and the global testbed)
TEST_BUILD = $(rel_UNIT) $(asan_UNIT) $(asan_STRESS) $(rel_DP) $(LOADGEN) $(CP_BIN)

test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) $(TEST_BUILD)
	@$(MAKE) --no-print-directory unit unit-asan stress dts

bench: deps
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(rel_DP) $(LOADGEN)
	@tools/bench/run.sh $(BUILD)/rel/bench $(BENCH_RESULTS)

bench-quick: deps
	@$(MAKE) --no-print-directory $(BENCH_BIN) $(rel_DP) $(LOADGEN)
	@BENCH_QUICK=1 tools/bench/run.sh $(BUILD)/rel/bench $(BENCH_RESULTS)

# the testbed is one global resource: taken under its lock
bench-cluster: deps
	@$(MAKE) --no-print-directory $(rel_DP) $(CP_BIN)
	@flock /tmp/wc-testbed.lock /usr/bin/python3 tools/bench/clusterbench.py --results $(BENCH_RESULTS)

FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -DALLOW_EXPERIMENTAL_API -g -O1 $(WARN) -Iinclude -Idataplane \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(BUILD)/fuzz/%: tests/fuzz/%.c $(STORE_SRC) $(NET_SRC)
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_FLAGS) $(PKG_CFLAGS) $^ $(LDLIBS_COMMON) -o $@

fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@tools/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

run: deps
	@$(MAKE) --no-print-directory $(rel_DP) $(CP_BIN)
	@tools/run.sh

clean:
	rm -rf $(BUILD)
