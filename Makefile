# aqgrid: one non-recursive Makefile.  Outputs go under $(B)/ (git-ignored).
# Library flags come from pkg-config and are read when a recipe runs, after
# etc/deps.sh has had the chance to install what is missing.

B ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=

CSTD = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN = -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
       -Wformat=2 -Wvla -Wundef
CPPFLAGS += -I.
PKGS = jansson check
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LIBS_JSON = $(shell pkg-config --libs jansson)
LIBS_CHECK = $(shell pkg-config --libs check)

# The engine: a library the daemon, the command line and the tests link.
CORE_SRCS = daemon/err.c daemon/fix.c daemon/pol.c daemon/aqi.c \
	    daemon/limits.c daemon/tz.c daemon/win.c
CORE_OBJS = $(CORE_SRCS:%.c=$(B)/%.o)
CORE_LIB = $(B)/libaqcore.a

PROGS = $(B)/aqgrid
UNIT_TESTS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/check_*.c))
CLI_TESTS = $(B)/tests/check_cli
TESTS = $(UNIT_TESTS) $(CLI_TESTS)
BENCHES = $(B)/bench/bench_engine

ALL_OBJS = $(CORE_OBJS) $(B)/daemon/aqgrid.o \
	   $(UNIT_TESTS:%=%.o) $(CLI_TESTS:%=%.o) $(BENCHES:%=%.o)

VALGRIND = valgrind -q --error-exitcode=1 --leak-check=full \
	   --errors-for-leak-kinds=definite,indirect \
	   --suppressions=tests/valgrind.supp
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: all check check-unit asan valgrind bench install format format-check \
	lint deps clean
.SECONDARY:

all: $(PROGS)

deps:
	@sh etc/deps.sh

$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%.o: tests/cli/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/bench/%.o: tests/bench/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/aqgrid: $(B)/daemon/aqgrid.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) -lm

$(B)/tests/check_%: $(B)/tests/check_%.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_CHECK) $(LIBS_JSON) -lm

$(B)/bench/%: $(B)/bench/%.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm

# The command-line tests run the built program, found through AQGRID.
check: check-unit

check-unit: $(TESTS) $(PROGS)
	AQGRID=$(B)/aqgrid sh tests/run.sh $(TESTS)

asan:
	$(MAKE) B=build-asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" check

valgrind: $(TESTS) $(PROGS)
	AQGRID=$(B)/aqgrid AQ_WRAP="$(VALGRIND)" CK_FORK=no \
	    RUNNER="$(VALGRIND)" sh tests/run.sh $(TESTS)

bench: $(BENCHES)
	$(B)/bench/bench_engine

install: $(PROGS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(PROGS) $(DESTDIR)$(BINDIR)

SRC_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(SRC_FILES)

format-check:
	clang-format --dry-run --Werror $(SRC_FILES)

# The layering rule of STYLE.md: the core (daemon/ but its two programs)
# includes no other folder; sensors/, alerts/ and web/ include only core
# headers and their own.
lint:
	@bad=$$(grep -nE '#include "(sensors|alerts|web)/' \
	    $$(ls daemon/*.[ch] | grep -vE 'daemon/(main|aqgrid)\.c') \
	    /dev/null); \
	for d in sensors alerts web; do \
	    bad="$$bad$$(grep -nE '#include "(sensors|alerts|web)/' \
	        $$(ls $$d/*.[ch] 2>/dev/null) /dev/null | grep -v "\"$$d/")"; \
	done; \
	if [ -n "$$bad" ]; then echo "lint: layering violated:"; \
	    echo "$$bad"; exit 1; fi; echo "lint: layering OK"

clean:
	rm -rf $(B) build-asan

-include $(ALL_OBJS:.o=.d)
