# SPDX-License-Identifier: MIT
# openvmbus: one non-recursive Makefile.
#   make            library (static + shared + pkg-config), the vmbus tool, tests
#   make check      build and run every test (tests/run.sh)
#   make SAN=1 ...  the same with AddressSanitizer + UBSan, objects in build-san/
#   make fuzz       libFuzzer targets (clang), objects in build-fuzz/
#   make bench      benchmarks under build/bench/
#   make clean

CC ?= cc
SAN ?=
BUILD ?= build$(if $(SAN),-san)
PREFIX ?= /usr/local

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-align \
	-Wwrite-strings -Wmissing-prototypes -Wstrict-prototypes \
	-Wold-style-definition -Wformat=2 -Wundef -Wvla -Wno-unused-parameter \
	-Wimplicit-fallthrough -Wno-address-of-packed-member
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I. -I/usr/include/fuse3 \
	-fPIC -pthread -MMD -MP $(WARN)
LDLIBS := -luring -lfuse3 -lpthread
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS := $(sort $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# The library exports only what a public header marks OVB_API
# (include/openvmbus/api.h); tools and tests link the static archive and
# still reach the internals.
$(LIB_OBJS): CFLAGS += -fvisibility=hidden
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/%.o)
TLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TLIB_OBJS := $(TLIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test-*.c tests/pair/test-*.c))
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCHES := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
# fio external ioengine: fio dlopen()s it (ioengine=external:PATH)
FIOENG_SRCS := $(sort $(wildcard bench/fio/*.c))
FIOENG := $(BUILD)/openvmbus-fio.so

# DPDK interop: an LD_PRELOAD library that plays the guest kernel for
# DPDK's netvsc PMD (tests/interop/dpdk).  Not built sanitized: ASan must
# be the first library in a process, and testpmd is not built with it.
DPDKSHIM_SRCS := $(filter-out %/queue_state.c,$(sort $(wildcard tests/interop/dpdk/*.c)))
DPDKSHIM := $(if $(SAN),,$(BUILD)/ovmb-dpdk-shim.so)
# queue_state.c works around a DPDK 22.11 bug through DPDK's own headers,
# so it is built only where they are installed, with DPDK's flags.
DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDKSHIM_OBJS := $(DPDKSHIM_SRCS:%.c=$(BUILD)/%.o) \
	$(if $(DPDK_CFLAGS),$(BUILD)/tests/interop/dpdk/queue_state.o)

STATIC := $(BUILD)/libopenvmbus.a
SHARED := $(BUILD)/libopenvmbus.so
PCFILE := $(BUILD)/openvmbus.pc

.PHONY: all lib check fuzz bench clean install
all: lib $(BUILD)/vmbus $(TESTS) $(FIOENG) $(DPDKSHIM)
lib: $(STATIC) $(SHARED) $(PCFILE)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(STATIC): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJS)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(PCFILE): Makefile
	@mkdir -p $(dir $@)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: openvmbus\nDescription: Hyper-V VMBus host and guest library\nVersion: 0.1\nLibs: -L$${libdir} -lopenvmbus\nLibs.private: %s\nCflags: -I$${includedir}\n' '$(PREFIX)' '$(LDLIBS)' > $@

$(BUILD)/vmbus: $(TOOL_OBJS) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(STATIC) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TLIB_OBJS) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(TLIB_OBJS) $(STATIC) $(LDLIBS) -lcmocka

# The library is linked in whole and kept private: the engine exports its
# ops table and binds its own symbols, never fio's.
$(FIOENG): $(FIOENG_SRCS:%.c=$(BUILD)/%.o) $(STATIC)
	$(CC) -shared $(LDFLAGS) -Wl,-Bsymbolic -Wl,--exclude-libs,ALL \
		-o $@ $(FIOENG_SRCS:%.c=$(BUILD)/%.o) $(STATIC) $(LDLIBS)

# The library is linked in whole and kept private, as for fio: only the
# interposed libc symbols are exported.
$(BUILD)/ovmb-dpdk-shim.so: $(DPDKSHIM_OBJS) $(STATIC)
	$(CC) -shared $(LDFLAGS) -Wl,-Bsymbolic -Wl,--exclude-libs,ALL \
		-o $@ $(DPDKSHIM_OBJS) $(STATIC) $(LDLIBS)

$(BUILD)/tests/interop/dpdk/queue_state.o: tests/interop/dpdk/queue_state.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -O2 -g -fPIC -MMD -MP $(DPDK_CFLAGS) -Wall -Wextra -Werror \
		-c -o $@ $<

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS) -lm

check: all
	@$(MAKE) --no-print-directory fuzz
	BUILD=$(BUILD) tests/run.sh

bench: all $(BENCHES)
	BUILD=$(BUILD) bench/run.sh

# ---- fuzzing: every source rebuilt with clang and libFuzzer ----
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -O1 -g -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I. \
	-I/usr/include/fuse3 -pthread -fsanitize=fuzzer-no-link,address,undefined
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZERS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)

fuzz: $(FUZZERS)
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
$(FUZZ_BUILD)/fuzz-%: $(FUZZ_BUILD)/tests/fuzz/fuzz-%.o $(FUZZ_LIB_OBJS)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

install: lib $(BUILD)/vmbus
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/include/openvmbus/wire \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m644 $(STATIC) $(SHARED) $(DESTDIR)$(PREFIX)/lib
	install -m644 $(PCFILE) $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m644 include/openvmbus/*.h $(DESTDIR)$(PREFIX)/include/openvmbus
	install -m644 include/openvmbus/wire/*.h \
		$(DESTDIR)$(PREFIX)/include/openvmbus/wire
	install -m755 $(BUILD)/vmbus $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/share/openvmbus/wireshark
	install -m644 share/wireshark/openvmbus.lua \
		$(DESTDIR)$(PREFIX)/share/openvmbus/wireshark

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
