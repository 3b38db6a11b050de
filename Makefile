# tlreport - see README.md.  `make check` runs every test; `make demo` writes the example report.
CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
DESTDIR ?=
WARN     = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wdouble-promotion \
           -Wno-unused-parameter -D_DEFAULT_SOURCE
PKGS     = hdf5 libcjson libpng libturbojpeg libcmark-gfm libzip
# Debian 12 packages: build, then tests (fixture generator, browser test).
DEB_BUILD = build-essential pkg-config libhdf5-dev libcjson-dev libpng-dev libturbojpeg0-dev \
            libcmark-gfm-dev libcmark-gfm-extensions-dev libzip-dev libaec-dev zlib1g-dev
DEB_TEST  = python3 python3-numpy python3-h5py chromium nodejs procps

BUILD   ?= build
ifdef SANITIZE
BUILD    = build-san
CFLAGS  += -O1 -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
# The HDF5 probe caps its memory with RLIMIT_AS, which AddressSanitizer's reservations rule
# out; this cap plays its part, so a crafted "19 GB" length fails at once here too.
ASAN_OPTIONS ?= max_allocation_size_mb=4096:allocator_may_return_null=1
export ASAN_OPTIONS
endif
ifeq ($(SANITIZE),)
TLREPORT = ./tlreport
else
TLREPORT = ./$(BUILD)/tlreport
endif

SRC      = $(filter-out src/app/main.c,$(wildcard src/*/*.c))
OBJ      = $(SRC:src/%.c=$(BUILD)/%.o)
TESTSRC  = $(wildcard tests/unit/test_*.c)
TESTOBJ  = $(TESTSRC:tests/unit/%.c=$(BUILD)/tests/%.o) $(BUILD)/tests/harness.o
# The HDF5 writer builds the example model and test fixtures; tlreport itself only reads.
H5WRITE  = $(BUILD)/examples/h5write.o

.PHONY: all deps binary check unit demo site install clean bench fuzz help print-libs
.DEFAULT_GOAL := all

all: deps
	@$(MAKE) --no-print-directory binary

# Installs missing Debian packages (apt-get update first); prints the command when not root.
deps:
	@missing=""; for p in $(DEB_BUILD) $(if $(DEPS_BUILD_ONLY),,$(DEB_TEST)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	  else \
	    echo "make deps: missing packages; run:"; echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
H5DIR      = /usr/lib/x86_64-linux-gnu/hdf5/serial
# LINK=static (the default) takes libhdf5, cmark-gfm, libpng and libturbojpeg from their Debian
# -dev packages' archives: Debian's libhdf5 .so pulls in libcurl, GnuTLS, Kerberos and LDAP
# (45 shared objects in all), and loading them cost more than the rest of a --summary run.
# cJSON ships no archive and stays shared; libzip (no archive either) is opened with dlopen on
# the first zip archive (src/io/zipio.c).  LINK=dynamic links everything shared.
LINK      ?= static
ifeq ($(LINK),static)
PKG_LIBS   = -L$(H5DIR) -Wl,-Bstatic -lhdf5_hl -lhdf5 -lcmark-gfm-extensions -lcmark-gfm \
             -lpng16 -lturbojpeg -lsz -laec -Wl,-Bdynamic -lcjson -lz -ldl -lm -lpthread
else
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -L$(H5DIR) -lhdf5_hl -lm -lpthread
endif

binary: $(if $(SANITIZE),$(BUILD)/tlreport,tlreport)

tlreport: $(BUILD)/tlreport
	cp $< $@

$(BUILD)/tlreport: $(BUILD)/app/main.o $(BUILD)/libtlr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/libtlr.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: src/%.c | $(BUILD)/tests/.dir
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/unit/%.c $(BUILD)/tests/unit_list.h | $(BUILD)/tests/.dir
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -Itests -Iexamples -I$(BUILD)/tests -MMD -MP -c -o $@ $<

$(H5WRITE): examples/h5write.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(BUILD)/tests/harness.o: tests/harness.c $(BUILD)/tests/unit_list.h | $(BUILD)/tests/.dir
	$(CC) $(WARN) $(CFLAGS) -Itests -I$(BUILD)/tests -MMD -MP -c -o $@ $<

# One X(test_<module>) line per tests/unit/test_<module>.c.
$(BUILD)/tests/unit_list.h: $(TESTSRC) | $(BUILD)/tests/.dir
	@printf '%s\n' $(patsubst tests/unit/%.c,'X(%)',$(TESTSRC)) > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@

$(BUILD)/unit_tests: $(TESTOBJ) $(H5WRITE) $(BUILD)/libtlr.a
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/.dir:
	@mkdir -p $(BUILD)/tests && touch $@

# Every test: unit suites, then the command-line, corpus and report suites (among them the
# page count of the longest corpus reports in print, tests/cli/length.sh).
check: deps
	@$(MAKE) --no-print-directory binary $(BUILD)/unit_tests
	@TLREPORT=$(TLREPORT) UNIT=$(BUILD)/unit_tests BUILD=$(BUILD) sh tests/run.sh

unit:
	@$(MAKE) --no-print-directory $(BUILD)/unit_tests && $(BUILD)/unit_tests $(T)

# Example inputs for `make demo`, generated here (no third-party files in the repository).
$(BUILD)/make_example: examples/make_example.c $(H5WRITE) $(BUILD)/libtlr.a
	$(CC) $(WARN) $(CFLAGS) $(PKG_CFLAGS) -Isrc $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

examples/out/course_model.h5: $(BUILD)/make_example
	$(BUILD)/make_example examples/out

SITE_OPTS = --title "Transfer learning con VGG16: Preguntas 1-5"

# The example report: the course model (VGG16 base frozen + head) on generated images.
demo: deps
	@$(MAKE) --no-print-directory binary examples/out/course_model.h5
	$(TLREPORT) examples/out/course_model.h5 examples/out/images -o site $(SITE_OPTS)
	@echo "demo: the report is in site/index.html (also site/report.md, site/report.json)"

# Regenerates the published example report in site/.
site: deps
	@$(MAKE) --no-print-directory binary examples/out/course_model.h5
	$(TLREPORT) examples/out/course_model.h5 examples/out/images -o site $(SITE_OPTS) --quiet

# The link line, for scripts that build their own programs against libtlr.a.
print-libs:
	@echo $(PKG_LIBS)

# Forward-pass speed against ONNX Runtime and PyTorch in one run (tests/bench/README.md).
bench: deps
	@sh tests/bench/bench.sh

# Installs the binary, the templates and the man page under $(DESTDIR)$(PREFIX).
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/tlreport/templates \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 tlreport $(DESTDIR)$(PREFIX)/bin/tlreport
	cp -R templates/. $(DESTDIR)$(PREFIX)/share/tlreport/templates/
	install -m 644 src/app/tlreport.1 $(DESTDIR)$(PREFIX)/share/man/man1/tlreport.1

clean:
	rm -rf build build-san build-bench build-fuzz tlreport

include tests/fuzz/fuzz.mk

-include $(OBJ:.o=.d) $(TESTOBJ:.o=.d) $(H5WRITE:.o=.d) $(BUILD)/app/main.d
