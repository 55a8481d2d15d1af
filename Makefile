# Tidemark - build, test, run, bench.
#
#   make          build build/tidemark
#   make run      install missing Debian packages, build, serve on
#                 127.0.0.1:8000 with data in ./data
#   make test     install, build, then every test (unit, unit under
#                 ASan+UBSan, integration, crash, bad input); ends with
#                 "N passed, N failed"
#   make bench    side-by-side benchmark (see bench/README.md)
#
# Sources are found by wildcard: a new .c file under src/ is built without
# touching this file; each tests/unit/test_<x>.c becomes a test binary
# linked against every object but main.o.  The web console's files
# (web/console/) are compiled in too: tools/embed.c (built into
# build/tools/embed) writes them into build/gen/console_assets.c, remade
# whenever a file there changes or one is added or removed.

CC       ?= cc
OPT      ?= -O2
PKGS     := libmicrohttpd jansson lmdb libzstd libxxhash libcrypto libcurl \
            zlib
CFLAGS   := -std=c11 -D_GNU_SOURCE $(OPT) -g -Wall -Wextra -Werror \
            -Wno-unused-parameter -Isrc
LDLIBS   := -lmicrohttpd -ljansson -llmdb -lzstd -lxxhash -lcrypto -lcurl \
            -lz -lpthread -lm
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
HDRS     := $(shell find src -name '*.h' -o -name '*.def') tests/unit/test.h \
            tests/unit/failalloc.h
# generated sources (build/gen/<x>.c), compiled like src/ into each build
GEN_SRCS := build/gen/console_assets.c
WEB_FILES:= $(shell find web/console -type f 2>/dev/null | LC_ALL=C sort)
OBJS     := $(LIB_SRCS:src/%.c=build/obj/%.o) \
            $(GEN_SRCS:build/gen/%.c=build/obj/gen/%.o)
AOBJS    := $(LIB_SRCS:src/%.c=build/asan/%.o) \
            $(GEN_SRCS:build/gen/%.c=build/asan/gen/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
UNIT_ASAN:= $(UNIT_SRC:tests/unit/%.c=build/tests-asan/%)
# tests/unit/drv_<x>.c: helper programs that Python tests drive (oracles).
DRV_SRC  := $(wildcard tests/unit/drv_*.c)
DRV_BIN  := $(DRV_SRC:tests/unit/%.c=build/tests/%)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
# libFuzzer targets (tests/fuzz/fuzz_<x>.c), built with clang.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FOBJS    := $(LIB_SRCS:src/%.c=build/fuzzobj/%.o) \
            $(GEN_SRCS:build/gen/%.c=build/fuzzobj/gen/%.o)
FUZZFLAGS:= -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror \
            -Wno-unused-parameter -Isrc -fno-omit-frame-pointer \
            -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 300

# Debian packages: build, test, bench.
DEB_BUILD := build-essential pkg-config libmicrohttpd-dev libjansson-dev \
             liblmdb-dev libzstd-dev libxxhash-dev libssl-dev \
             libcurl4-openssl-dev zlib1g-dev
DEB_TEST  := python3-boto3 python3-pytest awscli clang libclang-rt-14-dev openssl \
             chromium
DEB_BENCH := wrk nginx-light valgrind

.PHONY: all run test unit unit-asan fuzz-build fuzz integration deps soak bench-memory \
        deps-test deps-bench bench clean FORCE

all: build/tidemark

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

build/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CFLAGS) -DTM_VERSION='"$(VERSION)"' -c $< -o $@

# The console's files as C (src/console/console.h).  The list of files is
# kept in build/gen/console_files.txt, rewritten only when it changes, so
# that removing or renaming a file also remakes the C.
build/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

build/gen/console_files.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(WEB_FILES)' | cmp -s - $@ || echo '$(WEB_FILES)' > $@

build/gen/console_assets.c: build/tools/embed build/gen/console_files.txt \
                            $(WEB_FILES)
	@$(if $(Q),echo "  EMBED   web/console -> $@",true)
	$(Q)build/tools/embed $@ web/console $(WEB_FILES)

build/obj/gen/%.o: build/gen/%.c src/console/console.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

build/asan/gen/%.o: build/gen/%.c src/console/console.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-ASAN $<",true)
	$(Q)$(CC) $(CFLAGS) -O1 $(SANFLAGS) -c $< -o $@

build/fuzzobj/gen/%.o: build/gen/%.c src/console/console.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-FUZZ $<",true)
	$(Q)clang $(FUZZFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/asan/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-ASAN $<",true)
	$(Q)$(CC) $(CFLAGS) -O1 $(SANFLAGS) -DTM_VERSION='"$(VERSION)"' -c $< -o $@

build/tidemark: build/obj/main.o $(OBJS)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The whole server under AddressSanitizer and UBSan, for integration runs
# (TIDEMARK_BIN=build/tidemark-asan) that look for leaks and memory errors.
build/tidemark-asan: build/asan/main.o $(AOBJS)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) $(CFLAGS) -O1 $(SANFLAGS) -o $@ $^ $(LDLIBS)

build/tests/%: tests/unit/%.c $(OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(OBJS) $(LDLIBS)

build/tests-asan/%: tests/unit/%.c $(AOBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) $(CFLAGS) -O1 $(SANFLAGS) -o $@ $< $(AOBJS) $(LDLIBS)

# The simulated power cut's LD_PRELOAD library (tests/crash/test_powercut.py).
build/tests/libpowercut.so: tests/powercut/powercut.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -shared \
	  -fPIC -o $@ $< -ldl -lpthread

# The failure hook below the server's file layer (LMDB's state file,
# `tidemark restore`): an LD_PRELOAD library (tests/crash/test_store_faults.py).
build/tests/libfaultlib.so: tests/faultlib/faultlib.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -shared \
	  -fPIC -o $@ $< -ldl -lpthread

build/fuzzobj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-FUZZ $<",true)
	$(Q)clang $(FUZZFLAGS) -fsanitize=fuzzer-no-link -DTM_VERSION='"$(VERSION)"' -c $< -o $@

build/fuzz/%: tests/fuzz/%.c $(FOBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)clang $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< $(FOBJS) $(LDLIBS)

# Install what is missing, and only that (apt-get update once if needed).
define deb_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	  | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call deb_install,$(DEB_BUILD))

# Node.js and npm (the JavaScript SDK tests, dynalite): from Debian only
# when the machine has none; a Node.js installed otherwise brings its own
# npm, which Debian's npm package would conflict with.
define node_install
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
	  $(call deb_install_cmd,nodejs npm); \
	fi
endef
deb_install_cmd = echo "installing Debian packages: $(1)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1)

deps-test: deps
	$(call deb_install,$(DEB_TEST))
	$(node_install)

deps-bench: deps
	$(call deb_install,$(DEB_BENCH))
	$(node_install)

run: deps
	$(MAKE) build/tidemark
	./build/tidemark serve --host 127.0.0.1 --port 8000 --data ./data

unit: $(UNIT_BIN) $(DRV_BIN)
unit-asan: $(UNIT_ASAN)
fuzz-build: $(FUZZ_BIN)

# Each fuzz target for FUZZ_SECONDS (default 300) from its committed seed
# corpus; new inputs go to build/fuzz-corpus/, findings to build/fuzz-crash/.
fuzz: deps-test
	$(MAKE) fuzz-build
	TIDEMARK_FUZZ_SECONDS=$(FUZZ_SECONDS) /usr/bin/python3 tests/run.py --fuzz-only

test: deps-test
	$(MAKE) build/tidemark unit unit-asan fuzz-build build/tests/libpowercut.so build/tests/libfaultlib.so
	/usr/bin/python3 tests/run.py

# Ten minutes of mixed load with backups, restores, PITR restores and
# kill -9 restarts, then a full check (tests/soak/soak.py; SOAK_SECONDS).
soak: deps-test
	$(MAKE) build/tidemark
	/usr/bin/python3 tests/soak/soak.py

# Every operation of issue 9 at 1, 16 and 64 connections (about 15 min);
# BENCH_OPS=... BENCH_CONNS=... make bench for less (bench/README.md).
BENCH_OPS   ?= getitem putitem updateitem query batchwrite scan gsi-write
BENCH_CONNS ?= 1 16 64
BENCH_DURATION ?= 5s
bench: deps-bench
	$(MAKE) build/tidemark
	BENCH_OPS="$(BENCH_OPS)" BENCH_CONNS="$(BENCH_CONNS)" \
	  BENCH_DURATION="$(BENCH_DURATION)" bench/run.sh

# Memory at rest and under load, and start-up, with 1,000,000 items,
# dynalite alongside (about 4 min; bench/memory_bench.py).
bench-memory: deps-bench
	$(MAKE) build/tidemark
	/usr/bin/python3 bench/memory_bench.py --peer dynalite

clean:
	rm -rf build
.SECONDARY:
