# loadgen.mk - wirecache-loadgen (included by the Makefile). Its workload,
# encodings, parsers and reports (everything but the transports) also link
# into the unit tests named tests/unit/test_lg_*.c.
LOADGEN_CORE := keys reply engine options report
LOADGEN_SRC := $(wildcard tools/loadgen/*.c)
LOADGEN := $(BUILD)/rel/wirecache-loadgen
lg_core_obj = $(patsubst %,$(BUILD)/$(1)/tools/loadgen/%.o,$(LOADGEN_CORE)) \
	$(patsubst %.c,$(BUILD)/$(1)/%.o,$(TOOLS_COMMON))

$(LOADGEN): $(patsubst %.c,$(BUILD)/rel/%.o,$(LOADGEN_SRC)) $(TOOLS_COMMON_OBJ) $(rel_NETLIB) $(rel_LIB)
	$(CC) $(REL_CFLAGS) $^ $(BENCH_LIBS) -lm -lpthread $(LDLIBS_COMMON) -o $@

$(BUILD)/rel/tests/test_lg_%: $(BUILD)/rel/tests/unit/test_lg_%.o $(call lg_core_obj,rel) $(rel_NETLIB) $(rel_LIB)
	$(CC) $(REL_CFLAGS) $^ $(BENCH_LIBS) -lm $(LDLIBS_COMMON) -o $@

$(BUILD)/asan/tests/test_lg_%: $(BUILD)/asan/tests/unit/test_lg_%.o $(call lg_core_obj,asan) $(asan_NETLIB) $(asan_LIB)
	$(CC) $(ASAN_CFLAGS) $^ $(BENCH_LIBS) -lm $(LDLIBS_COMMON) -o $@

all: $(LOADGEN)
