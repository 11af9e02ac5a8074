# control.mk - wirecache-cp (control-plane daemon) and wirecachectl (its CLI),
# included by the Makefile after the variant rules. Objects use the same
# pattern rules and flags as everything else (build/<variant>/control/...).
#
#   build/rel/wirecache-cp, build/rel/wirecachectl    part of `make all`
#   tests/unit/test_cp_*.c                            part of `make unit` / `unit-asan`
#   dts/test_cp_*.py                                  part of `make dts`

CP_PKGS := jansson libmicrohttpd libcurl libcrypto
CP_LIBS = $(shell pkg-config --libs $(CP_PKGS) 2>/dev/null) -lpthread -lm

# everything but the two programs' mains goes into libwccp.a
CP_MAINS := control/cp_main.c control/ctl_main.c
CP_LIB_SRC := $(filter-out $(CP_MAINS),$(wildcard control/*.c))
CP_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_cp_*.c))
CP_WEB := control/web/index.html control/web/dashboard.js control/web/dashboard.css \
	control/web/vendor/uPlot.iife.min.js control/web/vendor/uPlot.min.css

define cp_variant
$(1)_CPLIB := $(BUILD)/$(1)/control/libwccp.a

$$($(1)_CPLIB): $$(patsubst %.c,$(BUILD)/$(1)/%.o,$$(CP_LIB_SRC)) \
		$(BUILD)/$(1)/common/hist.o $(BUILD)/$(1)/common/crc16.o
	@rm -f $$@
	ar rcs $$@ $$^

# the dashboard is compiled in (.incbin): rebuild when a file changes
$(BUILD)/$(1)/control/webassets.o: $(CP_WEB)

$(BUILD)/$(1)/wirecache-cp: $(BUILD)/$(1)/control/cp_main.o $$($(1)_CPLIB)
	$$(CC) $(2) $$^ $$(CP_LIBS) -o $$@

$(BUILD)/$(1)/wirecachectl: $(BUILD)/$(1)/control/ctl_main.o $$($(1)_CPLIB)
	$$(CC) $(2) $$^ $$(CP_LIBS) -o $$@

# unit tests of the control plane see its headers and link libwccp.a too
$(BUILD)/$(1)/tests/unit/test_cp_%.o: BASE_CFLAGS += -Icontrol
$$(addprefix $(BUILD)/$(1)/tests/,$$(CP_UNIT)): $$($(1)_CPLIB)
$$(addprefix $(BUILD)/$(1)/tests/,$$(CP_UNIT)): LDLIBS_COMMON += $$($(1)_CPLIB) $$(CP_LIBS)
endef

$(eval $(call cp_variant,rel,$(REL_CFLAGS)))
$(eval $(call cp_variant,asan,$(ASAN_CFLAGS)))

CP_BIN := $(BUILD)/rel/wirecache-cp $(BUILD)/rel/wirecachectl

all: $(CP_BIN)
dts: $(CP_BIN)
