# SPDX-License-Identifier: MIT
# openvmbus: one non-recursive Makefile.
#   make            the two libraries (static + shared + pkg-config), the
#                   vmbus tool, tests
#   make check      build and run every test (tests/run.sh)
#   make SAN=1 ...  the same with AddressSanitizer + UBSan, objects in build-san/
#   make fuzz       libFuzzer targets (clang), objects in build-fuzz/
#   make bench      build and run the benchmarks (bench/run.sh)
#   make benches    build them only, under build/bench/
#   make install    PREFIX (/usr/local), LIBDIR, INCLUDEDIR, DESTDIR honoured
#   make clean
#
# Two libraries (docs/architecture.md, "Libraries"):
#   libopenvmbus        core, bus, inproc link, devices, protocols, switch,
#                       block interface + RAM disk: libc and pthread only
#   libopenvmbus-linux  the OS-facing parts: socket link, io_uring file disks,
#                       FUSE disk, TAP backend and NIC (liburing, libfuse3),
#                       NBD disks (libnbd), RBD disks (librbd, dlopen()ed by
#                       the first rbd: disk, so not linked); it links
#                       against libopenvmbus and uses only its API
# Both are built -fvisibility=hidden and export only OVB_API declarations
# (include/openvmbus/api.h).  Tools, tests, benches, the fio engine and the
# DPDK shim link the static archives and so reach the internals too.

CC ?= cc
SAN ?=
BUILD ?= build$(if $(SAN),-san)
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
VERSION := 0.1.0
SOVERSION := 0

WARN := -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wcast-align \
	-Wwrite-strings -Wmissing-prototypes -Wstrict-prototypes \
	-Wold-style-definition -Wformat=2 -Wundef -Wvla -Wno-unused-parameter \
	-Wimplicit-fallthrough -Wno-address-of-packed-member
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I. -I/usr/include/fuse3 \
	-fPIC -pthread -MMD -MP $(WARN)
CORE_LIBS := -lpthread
LINUX_LIBS := -luring -lfuse3 -lnbd
LDLIBS := $(LINUX_LIBS) $(CORE_LIBS)
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS := $(sort $(wildcard src/*/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# The OS-facing sources: libopenvmbus-linux.  Everything else is the core.
LINUX_SRCS := $(sort $(wildcard src/link/socket_*.c)) src/backend/blk_file.c \
	src/backend/blk_spec.c src/backend/blk_scheme.c src/backend/blk_rbd.c \
	src/backend/blk_rbd_open.c src/backend/rbd_lib.c \
	$(sort $(wildcard src/backend/blk_nbd*.c)) \
	src/backend/net_tap.c $(sort $(wildcard src/frontend/*.c))
CORE_SRCS := $(filter-out $(LINUX_SRCS),$(LIB_SRCS))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/%.o)
LINUX_OBJS := $(LINUX_SRCS:%.c=$(BUILD)/%.o)
# The library exports only what a public header marks OVB_API
# (include/openvmbus/api.h); tools and tests link the static archives and
# still reach the internals.
$(LIB_OBJS): CFLAGS += -fvisibility=hidden
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TOOL_OBJS := $(TOOL_SRCS:%.c=$(BUILD)/%.o)
TLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TLIB_OBJS := $(TLIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(sort $(wildcard tests/unit/test-*.c tests/pair/test-*.c))
TESTS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# Helper programs the system tests run (not tests themselves).
SYSBIN_SRCS := $(sort $(wildcard tests/system/bin/*.c))
SYSBINS := $(SYSBIN_SRCS:%.c=$(BUILD)/%)
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
STATIC_LINUX := $(BUILD)/libopenvmbus-linux.a
# Both static archives, in link order, for everything built in the tree.
STATICS := $(STATIC_LINUX) $(STATIC)
SHARED := $(BUILD)/libopenvmbus.so.$(VERSION)
SHARED_LINUX := $(BUILD)/libopenvmbus-linux.so.$(VERSION)
SOLINKS := $(foreach l,libopenvmbus libopenvmbus-linux,\
	$(BUILD)/$(l).so $(BUILD)/$(l).so.$(SOVERSION))
PCFILE := $(BUILD)/openvmbus.pc
PCFILE_LINUX := $(BUILD)/openvmbus-linux.pc

.PHONY: all lib check fuzz bench benches clean install
# bench/tapring too: tests/system/tapring.sh checks that it moves real data;
# bench/net: tests/system/bench-net-pin.sh checks where its processes run.
all: lib $(BUILD)/vmbus $(TESTS) $(SYSBINS) $(FIOENG) $(DPDKSHIM) \
	$(BUILD)/bench/tapring $(BUILD)/bench/net
lib: $(STATICS) $(SHARED) $(SHARED_LINUX) $(SOLINKS) $(PCFILE) $(PCFILE_LINUX)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

$(STATIC): $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(STATIC_LINUX): $(LINUX_OBJS)
	@rm -f $@
	ar rcs $@ $^

# --no-undefined: the core needs nothing but libc and pthread, and the
# Linux library nothing of the core but its exported API.
$(SHARED): $(CORE_OBJS)
	$(CC) -shared $(LDFLAGS) -Wl,-soname,libopenvmbus.so.$(SOVERSION) \
		-Wl,--no-undefined -o $@ $^ $(CORE_LIBS)

$(SHARED_LINUX): $(LINUX_OBJS) $(SHARED) $(BUILD)/libopenvmbus.so
	$(CC) -shared $(LDFLAGS) \
		-Wl,-soname,libopenvmbus-linux.so.$(SOVERSION) \
		-Wl,--no-undefined -o $@ $(LINUX_OBJS) -L$(BUILD) -lopenvmbus \
		$(LINUX_LIBS) $(CORE_LIBS)

$(BUILD)/%.so.$(SOVERSION): $(BUILD)/%.so.$(VERSION)
	ln -sf $(notdir $<) $@
$(BUILD)/%.so: $(BUILD)/%.so.$(SOVERSION)
	ln -sf $(notdir $<) $@

# pkg-config: libdir and includedir relative to ${prefix} when under it.
# The files are rewritten whenever PREFIX, LIBDIR or INCLUDEDIR change.
pcdir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
PCVARS := $(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(VERSION)
$(BUILD)/pc.vars: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PCVARS)' | cmp -s - $@ || echo '$(PCVARS)' > $@
.PHONY: FORCE
$(PCFILE): Makefile $(BUILD)/pc.vars
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pcdir,$(LIBDIR))' \
		'includedir=$(call pcdir,$(INCLUDEDIR))' '' \
		'Name: openvmbus' \
		'Description: Hyper-V VMBus host and guest library (core)' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lopenvmbus' \
		'Libs.private: $(CORE_LIBS)' 'Cflags: -I$${includedir}' > $@

$(PCFILE_LINUX): Makefile $(BUILD)/pc.vars
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pcdir,$(LIBDIR))' \
		'includedir=$(call pcdir,$(INCLUDEDIR))' '' \
		'Name: openvmbus-linux' \
		'Description: openvmbus OS parts: socket link, io_uring disks, FUSE, TAP' \
		'Version: $(VERSION)' 'Requires: openvmbus = $(VERSION)' \
		'Libs: -L$${libdir} -lopenvmbus-linux' \
		'Libs.private: $(LINUX_LIBS) $(CORE_LIBS)' \
		'Cflags: -I$${includedir}' > $@

$(BUILD)/vmbus: $(TOOL_OBJS) $(STATICS)
	$(CC) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(STATICS) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TLIB_OBJS) $(STATICS)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(TLIB_OBJS),$(filter %.o,$^)) \
		$(TLIB_OBJS) $(STATICS) $(LDLIBS) -lcmocka
# The fio engine's connection side, tested without fio.
$(BUILD)/tests/pair/test-fio-conn: $(BUILD)/bench/fio/conn.o

$(SYSBINS): $(BUILD)/tests/system/bin/%: $(BUILD)/tests/system/bin/%.o $(STATICS)
	$(CC) $(LDFLAGS) -o $@ $< $(STATICS) $(LDLIBS)

# The library is linked in whole and kept private: the engine exports its
# ops table and binds its own symbols, never fio's.
$(FIOENG): $(FIOENG_SRCS:%.c=$(BUILD)/%.o) $(STATICS)
	$(CC) -shared $(LDFLAGS) -Wl,-Bsymbolic -Wl,--exclude-libs,ALL \
		-o $@ $(FIOENG_SRCS:%.c=$(BUILD)/%.o) $(STATICS) $(LDLIBS)

# The library is linked in whole and kept private, as for fio: only the
# interposed libc symbols are exported.
$(BUILD)/ovmb-dpdk-shim.so: $(DPDKSHIM_OBJS) $(STATICS)
	$(CC) -shared $(LDFLAGS) -Wl,-Bsymbolic -Wl,--exclude-libs,ALL \
		-o $@ $(DPDKSHIM_OBJS) $(STATICS) $(LDLIBS)

$(BUILD)/tests/interop/dpdk/queue_state.o: tests/interop/dpdk/queue_state.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) -O2 -g -fPIC -MMD -MP $(DPDK_CFLAGS) -Wall -Wextra -Werror \
		-c -o $@ $<

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(STATICS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(STATICS) $(LDLIBS) -lm
# bench/net's parts beside its main program (bench/netbench/).
$(BUILD)/bench/net: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/netbench/*.c))
# bench/tapring's data path beside its main program (bench/tapringbench/).
$(BUILD)/bench/tapring: $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/tapringbench/*.c))

check: all
	@$(MAKE) --no-print-directory fuzz
	BUILD=$(BUILD) tests/run.sh

benches: all $(BENCHES)

bench: benches
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

# Public headers only (include/openvmbus/ and wire/); private ones stay
# in src/.  Each shared library as NAME.so.VERSION with its soname link
# (NAME.so.0) and its development link (NAME.so).
install: lib $(BUILD)/vmbus
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(INCLUDEDIR)/openvmbus/wire
	install -m644 $(STATICS) $(DESTDIR)$(LIBDIR)
	install -m755 $(SHARED) $(SHARED_LINUX) $(DESTDIR)$(LIBDIR)
	for l in libopenvmbus libopenvmbus-linux; do \
		ln -sf $$l.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$l.so.$(SOVERSION) && \
		ln -sf $$l.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/$$l.so || exit 1; \
	done
	install -m644 $(PCFILE) $(PCFILE_LINUX) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m644 include/openvmbus/*.h $(DESTDIR)$(INCLUDEDIR)/openvmbus
	install -m644 include/openvmbus/wire/*.h \
		$(DESTDIR)$(INCLUDEDIR)/openvmbus/wire
	install -m755 $(BUILD)/vmbus $(DESTDIR)$(PREFIX)/bin
	install -d $(DESTDIR)$(PREFIX)/share/openvmbus/wireshark
	install -m644 share/wireshark/openvmbus.lua \
		$(DESTDIR)$(PREFIX)/share/openvmbus/wireshark

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
