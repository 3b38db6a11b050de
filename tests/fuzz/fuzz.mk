# ---- fuzzing: `make fuzz` (clang + libFuzzer; FUZZ_SECONDS per target, default 60) ----------
# Library objects get -fsanitize=fuzzer-no-link (coverage, no main); each tests/fuzz/fuzz_<name>.c
# links with libFuzzer's main.  Seeds come from tests/fixtures (tests/fuzz/make_seeds.sh).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR      = build-fuzz
FUZZ_FLAGS    = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_NAMES    = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS     = $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_OBJ      = $(SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -Isrc -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libtlr.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_DIR)/libtlr.a
	$(FUZZ_CC) $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -Isrc -o $@ $< \
	    $(FUZZ_DIR)/libtlr.a $(PKG_LIBS)

fuzz:
	@command -v $(FUZZ_CC) >/dev/null || { echo "make fuzz: needs $(FUZZ_CC) (apt-get install clang)"; exit 1; }
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@FUZZ_DIR=$(FUZZ_DIR) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_NAMES)

-include $(FUZZ_OBJ:.o=.d)
