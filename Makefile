# tsrun — build, test, demo, bench. `make` builds bin/tsrun (one file: Bun single-file build with
# the native helper embedded).
BUN     := ./node_modules/.bin/bun
TSC     := ./node_modules/.bin/tsc
MUSLCC  := musl-gcc
PREFIX  ?= /usr/local
SOURCES := $(shell find cmd runtime spec -name '*.ts' -not -name '*_test.ts' 2>/dev/null)

.PHONY: all deps test-deps test unit typecheck conformance conformance-runc drivers security test-cgroup2 demo bench install clean

all: bin/tsrun

# Debian packages the build needs (installed when missing; needs root then).
deps:
	@scripts/deps.sh build

# … and what the tests drive: runc, crun, podman, containerd, qemu, a Debian kernel.
test-deps: deps
	@scripts/deps.sh test

node_modules/.bin/bun: package.json package-lock.json | deps
	npm ci --no-audit --no-fund
	touch $@

native/build/protocol.h: runtime/sys/protocol.ts scripts/gen-protocol-h.ts node_modules/.bin/bun
	@mkdir -p native/build
	$(BUN) scripts/gen-protocol-h.ts $@

# Static: the exec stage runs inside the container's root, where the host's libc is not. With
# musl: 63 kB instead of glibc's 707 kB, which every create and exec copies into a memfd and
# executes (~1 ms each, measured). musl has no kernel headers of its own; the system's linux/
# and asm/ are put beside it, nothing else of glibc's.
native/build/kernel-headers:
	@mkdir -p $@
	ln -sfn /usr/include/linux $@/linux
	ln -sfn /usr/include/asm-generic $@/asm-generic
	ln -sfn /usr/include/$$(gcc -print-multiarch)/asm $@/asm

native/build/tsrun-helper: native/helper.c native/build/protocol.h | deps native/build/kernel-headers
	$(MUSLCC) -static -Os -Wall -Wextra -Werror -Inative/build -isystem native/build/kernel-headers -o $@ native/helper.c
	strip $@

spec/generated/config_validator.js: spec/schema.ts spec/enums.ts spec/features.ts spec/build.ts node_modules/.bin/bun
	$(BUN) spec/build.ts

bin/tsrun: native/build/tsrun-helper spec/generated/config_validator.js $(SOURCES)
	@mkdir -p bin
	$(BUN) build --compile --bytecode --minify --splitting --format=esm --outfile $@ cmd/main.ts

typecheck: native/build/tsrun-helper spec/generated/config_validator.js
	$(TSC) --noEmit -p .

unit: native/build/tsrun-helper spec/generated/config_validator.js
	$(BUN) test spec runtime cmd

# The black-box suite, against tsrun and against runc (every case must pass on both, or be a
# documented runc deviation).
conformance: bin/tsrun
	RUNTIME=$(CURDIR)/bin/tsrun conformance/run.sh --timeout 60000

conformance-runc: node_modules/.bin/bun
	RUNTIME=$$(command -v runc) conformance/run.sh --timeout 60000

# podman and containerd driving tsrun and runc.
drivers: bin/tsrun
	tests/drivers/run.sh

# The escape classes runc has had CVEs for, rootless as a real user, seccomp against runc.
security: bin/tsrun
	$(BUN) test --timeout 120000 tests/security/

# Pure cgroup v2, on Debian's kernel under qemu: the cgroup code, and bin/tsrun containers on a
# busybox rootfs.
test-cgroup2: bin/tsrun
	WITH_TSRUN=1 BUSYBOX_ROOTFS=1 tests/cgroup2/run.sh

test: test-deps all typecheck unit conformance conformance-runc drivers security test-cgroup2

demo: deps bin/tsrun
	./scripts/demo.sh

bench: bin/tsrun
	$(BUN) bench/bench.ts

install: bin/tsrun
	install -D -m 0755 bin/tsrun $(DESTDIR)$(PREFIX)/bin/tsrun

clean:
	rm -rf bin native/build spec/generated
