# aqgrid: one non-recursive Makefile.  Outputs go under $(B)/ (git-ignored).
# Library flags come from pkg-config and are read when a recipe runs, after
# etc/deps.sh has had the chance to install what is missing.

B ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
# Debian 12 keeps units in /lib/systemd/system; systemd reads
# /usr/local/lib/systemd/system too.
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=

CSTD = -std=c11 -D_POSIX_C_SOURCE=200809L
WARN = -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
       -Wformat=2 -Wvla -Wundef
CPPFLAGS += -I.
PKGS = jansson check libmosquitto zlib libmicrohttpd libcurl sqlite3 gnutls
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) $(PKG_CFLAGS)
LIBS_JSON = $(shell pkg-config --libs jansson)
LIBS_CHECK = $(shell pkg-config --libs check)
LIBS_MQTT = $(shell pkg-config --libs libmosquitto)
LIBS_CURL = $(shell pkg-config --libs libcurl)
LIBS_DAEMON = $(shell pkg-config --libs libmosquitto libmicrohttpd jansson \
	      sqlite3 zlib libcurl gnutls) \
	      -lpthread -lm
LIBS_TEST = $(shell pkg-config --libs check jansson libmosquitto \
	    libmicrohttpd libcurl sqlite3 gnutls) -lpthread -lz -lm

# The engine: a library the daemon, the command line and the tests link.
CORE_SRCS = daemon/err.c daemon/fix.c daemon/pol.c daemon/aqi.c \
	    daemon/limits.c daemon/tz.c daemon/win.c daemon/reason.c \
	    daemon/conf.c daemon/state.c daemon/log.c daemon/store.c \
	    daemon/journal.c daemon/fault.c daemon/sdnotify.c \
	    daemon/forecast.c daemon/fcgrid.c daemon/hotspot.c \
	    daemon/plan.c daemon/wx.c daemon/stats.c
CORE_OBJS = $(CORE_SRCS:%.c=$(B)/%.o)
CORE_LIB = $(B)/libaqcore.a
# Payload decoding and quality control.
SENSORS_SRCS = sensors/decode.c sensors/qc.c sensors/ingest.c \
	       sensors/publish.c \
	       sensors/hj212.c sensors/hj212net.c
SENSORS_OBJS = $(SENSORS_SRCS:%.c=$(B)/%.o)
SENSORS_LIB = $(B)/libaqsensors.a
# The HTTP API and dashboard server.
WEB_SRCS = web/api.c web/api_auth.c web/api_cells.c web/api_status.c \
	   web/api_history.c web/api_forecast.c web/api_alerts.c \
	   web/api_sites.c web/api_static.c
WEB_OBJS = $(WEB_SRCS:%.c=$(B)/%.o)
WEB_LIB = $(B)/libaqweb.a
# Alert rules and their lifecycle.
ALERTS_SRCS = alerts/rule.c alerts/alert.c
ALERTS_OBJS = $(ALERTS_SRCS:%.c=$(B)/%.o)
ALERTS_LIB = $(B)/libaqalerts.a
# Notifications: bodies, signatures (GnuTLS) and delivery (libcurl).
ALERTS_SRCS += alerts/format.c alerts/notify.c
# The running service: engine and notifiers behind one lock, events.
ALERTS_SRCS += alerts/service.c
# Dust sites: their status from the site monitors and the background.
ALERTS_SRCS += alerts/site.c
LIBS_ALL = $(WEB_LIB) $(ALERTS_LIB) $(SENSORS_LIB) $(CORE_LIB)

PROGS = $(B)/aqgrid $(B)/aqgridd $(B)/aqgrid-sim $(B)/aqgrid-eval
# Manual pages: hand-written under man/, and aqgridd.conf(5) whose OPTIONS
# section is the parser's option table (man/mkconfman).
MANS = $(B)/man/aqgridd.8 $(B)/man/aqgridd.conf.5 $(B)/man/aqgrid.1 \
       $(B)/man/aqgrid-sim.1
VERSION = $(shell sed -n 's/^\#define AQ_VERSION "\(.*\)"/\1/p' daemon/version.h)
# The pages' date: SOURCE_DATE_EPOCH (dpkg-buildpackage sets it from
# debian/changelog), else the last commit's, for reproducible pages.
MAN_DATE = $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(git log -1 \
	   --format=%ct 2>/dev/null || date +%s)}" +%Y-%m-%d)
MAN_SUBST = sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@DATE@/$(MAN_DATE)/g'
UNIT_TESTS = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/check_*.c))
CLI_TESTS = $(patsubst tests/cli/%.c,$(B)/tests/%,$(wildcard tests/cli/check_*.c))
INTEG_TESTS = $(patsubst tests/integ/%.c,$(B)/tests/%,$(wildcard tests/integ/check_integ_*.c))
TESTS = $(UNIT_TESTS) $(CLI_TESTS) $(INTEG_TESTS)
BENCHES = $(B)/bench/bench_engine $(B)/bench/bench_ingest $(B)/bench/bench_sub \
	  $(B)/bench/bench_alert $(B)/bench/bench_alert_e2e \
	  $(B)/bench/bench_forecast $(B)/bench/bench_hotspot \
	  $(B)/bench/bench_site \
	  $(B)/bench/bench_plan

ALL_OBJS = $(CORE_OBJS) $(SENSORS_OBJS) $(WEB_OBJS) $(B)/daemon/aqgrid.o \
	   $(B)/daemon/main.o $(B)/daemon/eval.o $(ALERTS_OBJS) \
	   $(B)/sensors/sim.o $(B)/tests/eval/faulteval.o $(B)/man/mkconfman.o \
	   $(TESTS:%=%.o) $(B)/tests/harness.o $(BENCHES:%=%.o)

VALGRIND = valgrind -q --error-exitcode=1 --leak-check=full \
	   --errors-for-leak-kinds=definite,indirect \
	   --suppressions=tests/valgrind.supp
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=address,undefined -fno-sanitize-recover=all

.PHONY: all check asan valgrind bench install format format-check \
	lint deps clean demo bench-demo fuzz soak faulteval man install-conf \
	deb deb-check eval
.SECONDARY:

all: $(PROGS) $(MANS)

# SKIP_DEPS=1 (the Debian package build: Build-Depends did it) skips it.
deps:
	@[ -n "$(SKIP_DEPS)" ] || sh etc/deps.sh

man: $(MANS)

$(B)/man/mkconfman: $(B)/man/mkconfman.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON)

$(B)/man/aqgridd.conf.5: man/aqgridd.conf.5.head man/aqgridd.conf.5.tail \
    $(B)/man/mkconfman daemon/version.h
	{ $(MAN_SUBST) man/aqgridd.conf.5.head && $(B)/man/mkconfman && \
	    cat man/aqgridd.conf.5.tail; } > $@.tmp
	mv $@.tmp $@

$(addprefix $(B)/man/,aqgridd.8 aqgrid.1 aqgrid-sim.1): $(B)/man/%: man/% \
    daemon/version.h
	@mkdir -p $(@D)
	$(MAN_SUBST) $< > $@

$(B)/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%.o: tests/unit/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%.o: tests/cli/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/%.o: tests/integ/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(B)/bench/%.o: tests/bench/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(SENSORS_LIB): $(SENSORS_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(WEB_LIB): $(WEB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(ALERTS_LIB): $(ALERTS_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/aqgridd: $(B)/daemon/main.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON)

$(B)/aqgrid: $(B)/daemon/aqgrid.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_JSON) $(LIBS_CURL) -lpthread -lm

# The forecast model scored on the Beijing data (README, Forecasts).
$(B)/aqgrid-eval: $(B)/daemon/eval.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lz -lm

eval: $(B)/aqgrid-eval
	$(B)/aqgrid-eval $(DATA)

$(B)/aqgrid-sim: $(B)/sensors/sim.o $(SENSORS_LIB) $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_MQTT) -lz -lm

$(B)/tests/check_%: $(B)/tests/check_%.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TEST)

$(B)/tests/check_integ_%: $(B)/tests/check_integ_%.o $(B)/tests/harness.o \
    $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TEST)

$(B)/bench/bench_ingest: $(B)/bench/bench_ingest.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON)

$(B)/bench/bench_alert: $(B)/bench/bench_alert.o $(ALERTS_LIB) $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON) $(LIBS_CURL)

$(B)/bench/bench_site: $(B)/bench/bench_site.o $(ALERTS_LIB) $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON) $(LIBS_CURL)

# Reading-to-webhook latency: runs the built aqgridd and a broker.
$(B)/bench/bench_alert_e2e: $(B)/bench/bench_alert_e2e.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_MQTT) \
	    $(shell pkg-config --libs libmicrohttpd jansson) -lpthread

$(B)/bench/bench_forecast: $(B)/bench/bench_forecast.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm

$(B)/bench/bench_hotspot: $(B)/bench/bench_hotspot.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lpthread -lm

# The plan indicators over a filled store (SQLite, threads).
$(B)/bench/bench_plan: $(B)/bench/bench_plan.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_DAEMON)

$(B)/bench/bench_sub: $(B)/bench/bench_sub.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_MQTT)

# --wrap lets the benchmark count the engine's allocations.
$(B)/bench/%: $(B)/bench/%.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc \
	    -o $@ $^ -lm

# The sensor-fault detector scored on the Beijing data (README).
DATA ?= ../shared/data/beijing-multisite
$(B)/aqgrid-faulteval: $(B)/tests/eval/faulteval.o $(CORE_LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lz -lm

$(B)/tests/eval/%.o: tests/eval/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

faulteval: $(B)/aqgrid-faulteval
	$(B)/aqgrid-faulteval $(DATA)

# The whole system on this machine: broker, daemon, simulator (README).
demo: all
	B=$(B) sh etc/demo.sh

# How long a first-time user of `make demo` waits for the map, the
# forecasts, the warnings and the plan indicators (medians of RUNS runs).
bench-demo: all
	B=$(B) RUNS=$${RUNS:-3} sh tests/bench/demo_time.sh

# The tests run the built programs, found through these variables.
TEST_ENV = AQGRID=$(B)/aqgrid AQGRIDD=$(B)/aqgridd AQGRID_SIM=$(B)/aqgrid-sim \
	   AQ_MAN=$(B)/man

# The dashboard in Debian's chromium (tests/browser/run.sh: npm ci of the
# pinned playwright-core, then the checks); counted in the closing line.
# forecast.sh: the forecast band and warnings after an 8-day back-fill.
BROWSER_TESTS = tests/browser/run.sh tests/browser/forecast.sh

check: $(TESTS) $(PROGS) $(MANS)
	$(TEST_ENV) sh tests/run.sh $(TESTS) $(BROWSER_TESTS)

asan:
	$(MAKE) B=build-asan CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" check

valgrind: $(TESTS) $(PROGS) $(MANS)
	$(TEST_ENV) AQ_WRAP="$(VALGRIND)" CK_FORK=no \
	    RUNNER="$(VALGRIND)" sh tests/run.sh $(TESTS)

# Rates are medians of wall-clock runs; the instruction count per reading
# (callgrind, inside win_update only) repeats exactly on a noisy machine.
bench: $(BENCHES) $(PROGS)
	$(B)/bench/bench_engine
	@out=$(B)/bench/callgrind.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=win_update $(B)/bench/bench_engine --callgrind \
	    2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "engine: $$((ir / n)) instructions per reading update" \
	    "(callgrind, $$n readings)"
	$(B)/bench/bench_ingest
	@out=$(B)/bench/callgrind-ingest.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=ingest_apply $(B)/bench/bench_ingest --callgrind \
	    2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "ingest: $$((ir / n)) instructions per message (decode + QC +" \
	    "fault check + engine; callgrind, $$n messages)"; \
	fi=$$(callgrind_annotate --inclusive=yes $$out 2>/dev/null | \
	    awk '/fault.c:fault_observe \[/ {gsub(",", "", $$1); print $$1; exit}'); \
	echo "fault detector: $$((fi / n)) instructions per message of 6" \
	    "values, $$((fi / n / 6)) per value (callgrind)"
	$(B)/bench/bench_hotspot
	@out=$(B)/bench/callgrind-hotspot.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=hotspots_update $(B)/bench/bench_hotspot \
	    --callgrind 2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "hotspots: $$((ir / n)) instructions per hourly update of" \
	    "10,000 cells (callgrind, $$n updates)"
	$(B)/bench/bench_alert
	@out=$(B)/bench/callgrind-alert.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=alert_engine_cell $(B)/bench/bench_alert \
	    --callgrind 2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "alerts: $$((ir / n)) instructions per cell-hour with 20 rules" \
	    "(callgrind, $$n cell-hours)"
	$(B)/bench/bench_site
	@out=$(B)/bench/callgrind-site.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=bench_pass $(B)/bench/bench_site \
	    --callgrind 2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "sites: $$((ir / n)) instructions per site-hour (60 readings," \
	    "background views, judgement; callgrind, $$n site-hours)"
	$(B)/bench/bench_forecast
	@out=$(B)/bench/callgrind-forecast.out; \
	n=$$(valgrind --tool=callgrind --callgrind-out-file=$$out \
	    --toggle-collect=fc_cell_hour $(B)/bench/bench_forecast \
	    --callgrind 2>/dev/null | awk '{print $$3}'); \
	ir=$$(callgrind_annotate $$out 2>/dev/null | \
	    awk '/PROGRAM TOTALS/ {gsub(",", "", $$1); print $$1}'); \
	echo "forecast: $$((ir / n)) instructions per cell-hour, learning" \
	    "and 72 h of PM2.5 and O3 (callgrind, $$n cell-hours)"
	$(B)/bench/bench_alert_e2e $(B)
	$(B)/bench/bench_plan
	B=$(B) sh tests/bench/bench_e2e.sh
	B=$(B) sh tests/bench/bench_publish.sh
	B=$(B) sh tests/bench/bench_hj212.sh
	$(TEST_ENV) sh tests/browser/run.sh bench

# An hour (DURATION seconds) of live load with the API polled: RSS and
# descriptors flat, nothing lost.  Not in CI.
soak: $(PROGS)
	B=$(B) sh tests/bench/soak.sh

# libFuzzer harnesses (clang): each runs FUZZ_SECONDS on its seed corpus
# under tests/fuzz/corpus/NAME, copied so the committed seeds stay as they
# are.
FUZZ_SECONDS ?= 60
FUZZERS = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

fuzz:
	@for f in $(FUZZERS); do \
	    $(MAKE) -s B=build-fuzz CC=clang CFLAGS="$(FUZZ_FLAGS)" \
	        build-fuzz/fuzz/fuzz_$$f || exit 1; \
	    rm -rf build-fuzz/corpus-$$f; mkdir -p build-fuzz/corpus-$$f; \
	    cp tests/fuzz/corpus/$$f/* build-fuzz/corpus-$$f/ 2>/dev/null; \
	    build-fuzz/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) \
	        -print_final_stats=1 build-fuzz/corpus-$$f || exit 1; \
	done

$(B)/fuzz/fuzz_%.o: tests/fuzz/fuzz_%.c | deps
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Objects built with -fsanitize=fuzzer must not carry libFuzzer's main.
$(B)/fuzz/fuzz_%: $(B)/fuzz/fuzz_%.o $(LIBS_ALL)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_TEST)

# Paths in the unit and the sample configuration follow PREFIX.
install: $(PROGS) $(MANS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(DATADIR)/aqgrid/web/static \
	    $(DESTDIR)$(DATADIR)/doc/aqgrid/examples \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/aqgrid $(B)/aqgrid-sim $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/aqgridd $(DESTDIR)$(SBINDIR)
	install -m 0644 web/static/* $(DESTDIR)$(DATADIR)/aqgrid/web/static
	install -m 0644 $(B)/man/aqgrid.1 $(B)/man/aqgrid-sim.1 \
	    $(DESTDIR)$(MANDIR)/man1
	install -m 0644 $(B)/man/aqgridd.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 $(B)/man/aqgridd.8 $(DESTDIR)$(MANDIR)/man8
	sed -e 's|/usr/local/sbin|$(SBINDIR)|g' \
	    -e 's|/etc/aqgridd|$(SYSCONFDIR)/aqgridd|g' etc/aqgridd.service \
	    > $(DESTDIR)$(UNITDIR)/aqgridd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/aqgridd.service
	for f in aqgridd.conf grid.conf rules.conf; do \
	    $(CONF_SUBST) etc/$$f > \
	        $(DESTDIR)$(DATADIR)/doc/aqgrid/examples/$$f || exit 1; \
	done
	install -m 0644 etc/grafana/aqgrid.json \
	    $(DESTDIR)$(DATADIR)/doc/aqgrid/examples
	chmod 0644 $(DESTDIR)$(DATADIR)/doc/aqgrid/examples/*

# The configuration in $(SYSCONFDIR)/aqgridd (the package's conffiles).
CONF_SUBST = sed -e 's|/usr/local/share/aqgrid|$(DATADIR)/aqgrid|g'
install-conf:
	install -d $(DESTDIR)$(SYSCONFDIR)/aqgridd
	for f in aqgridd.conf grid.conf rules.conf; do \
	    $(CONF_SUBST) etc/$$f > $(DESTDIR)$(SYSCONFDIR)/aqgridd/$$f || \
	        exit 1; \
	done
	chmod 0644 $(DESTDIR)$(SYSCONFDIR)/aqgridd/*

# The Debian package (debian/), built in build-deb/ and moved to $(B)/;
# deb-check installs it on this machine as root and checks it
# (tests/pkg/check_deb.sh; CI's throwaway machine).
deb:
	DEB_BUILD_OPTIONS="parallel=2 $$DEB_BUILD_OPTIONS" dpkg-buildpackage -us -uc -b
	@mkdir -p $(B)
	mv ../aqgrid_$(VERSION)_*.deb ../aqgrid_$(VERSION)_*.buildinfo \
	    ../aqgrid_$(VERSION)_*.changes $(B)/
	-mv ../aqgrid-dbgsym_$(VERSION)_*.deb $(B)/ 2>/dev/null

deb-check: deb
	sh tests/pkg/check_deb.sh $(B)

SRC_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(SRC_FILES)

format-check:
	clang-format --dry-run --Werror $(SRC_FILES)

# The layering rule of STYLE.md: core <- sensors, alerts <- web <-
# programs.  The core (daemon/ but its two programs) includes no other
# folder; sensors/ and alerts/ include only core headers and their own;
# web/ includes the core's, alerts/' (the alert service it serves) and its
# own.
lint:
	@bad=$$(grep -nE '#include "(sensors|alerts|web)/' \
	    $$(ls daemon/*.[ch] | grep -vE 'daemon/(main|aqgrid)\.c') \
	    /dev/null); \
	for d in sensors alerts web; do \
	    ok="$$d"; [ $$d = web ] && ok="web|alerts"; \
	    bad="$$bad$$(grep -nE '#include "(sensors|alerts|web)/' \
	        $$(ls $$d/*.[ch] 2>/dev/null) /dev/null | \
	        grep -vE "\"($$ok)/")"; \
	done; \
	if [ -n "$$bad" ]; then echo "lint: layering violated:"; \
	    echo "$$bad"; exit 1; fi; echo "lint: layering OK"

clean:
	rm -rf $(B) build-asan build-clang build-fuzz build-deb

-include $(ALL_OBJS:.o=.d)
