# runsc-ts: build, test, demo, bench and install. `make demo` and `make test` run `deps` first.
SHELL := /bin/bash
PREFIX ?= /usr/local
CONTAINERD_CONFIG ?= /etc/containerd/config.toml
NODE := $(shell command -v node)
NODEDIR := $(shell d=$$(dirname $$(dirname $$(command -v node))); [ -d $$d/include/node ] && echo $$d)
NODE_GYP_FLAGS := $(if $(NODEDIR),--nodedir=$(NODEDIR),)
APT_PACKAGES := containerd runc busybox-static libseccomp-dev pkg-config util-linux python3 containernetworking-plugins iproute2
PROTOS := protos/google/protobuf.proto protos/google/rpc.proto $(sort $(wildcard protos/containerd/*.proto)) protos/sentry/control.proto
# The CRI API is for the integration tests' CRI client only; the shim never loads it.
CRI_PROTO := protos/cri/api.proto
NATIVE_SRC := $(wildcard sentry-native/*/*.cc sentry-native/*/*.h) sentry-native/binding.gyp
TS_SRC := $(shell find shim integration bench -name '*.ts' 2>/dev/null)
UNIT_TESTS = $(shell find build/js/shim -name '*.test.js' 2>/dev/null | sort)
IT_TESTS = $(shell find build/js/integration -name '*.test.js' 2>/dev/null | sort)

.PHONY: all deps build test unit integration demo bench install uninstall clean

all: build

# deps installs what is missing (Debian packages, npm packages); a second run changes nothing.
deps: .deps-stamp
.deps-stamp: package.json package-lock.json
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq </dev/null && apt-get install -y -qq --no-install-recommends $$missing </dev/null >/dev/null || exit 1; \
	fi
	npm ci --no-audit --no-fund --loglevel=error </dev/null
	@touch $@

build: deps build/.stamp

build/.stamp: $(PROTOS) $(CRI_PROTO) $(TS_SRC) $(NATIVE_SRC) tsconfig.json Makefile
	mkdir -p shim/gen build/Release build/bin build/js/shim/gen integration/gen build/js/integration/gen
	npx pbjs -t static-module -w commonjs --no-beautify --no-delimited --no-verify --no-convert --no-create --no-typeurl --no-service --force-number -p protos -o build/protos-doc.js $(PROTOS)
	npx pbts -o shim/gen/protos.d.ts build/protos-doc.js
	npx pbjs -t static-module -w commonjs --no-beautify --no-delimited --no-verify --no-convert --no-create --no-typeurl --no-service --no-comments --force-number -p protos -o shim/gen/protos.js $(PROTOS)
	npx pbjs -t static-module -w commonjs --no-beautify --no-delimited --no-verify --no-convert --force-number -p protos -o build/js/integration/gen/cri.js $(CRI_PROTO)
	npx pbts -o integration/gen/cri.d.ts build/js/integration/gen/cri.js
	npx tsc -p tsconfig.json
	cp shim/gen/protos.js build/js/shim/gen/protos.js
	cd sentry-native && ../node_modules/.bin/node-gyp rebuild $(NODE_GYP_FLAGS) --loglevel=warn
	# install(1) replaces files instead of rewriting them: running shims and tests keep theirs.
	install -m 755 sentry-native/build/Release/runsc-ts-sentry build/Release/
	install -m 755 sentry-native/build/Release/runsc-ts-gofer build/Release/
	install -m 644 sentry-native/build/Release/runsc_ts_native.node build/Release/
	install -m 755 sentry-native/build/Release/containerd-shim-runsc-ts-v1 build/bin/
	ln -sf ../Release/runsc-ts-sentry build/bin/runsc-ts-sentry
	ln -sf ../Release/runsc-ts-gofer build/bin/runsc-ts-gofer
	@touch $@

# test runs the unit tests (tap) and the integration tests (a private containerd), then the totals.
test: build
	@rm -f build/test-totals.json
	@node build/js/integration/summary.js --accumulate build/test-totals.json --jobs 2 $(UNIT_TESTS) || true
	@node build/js/integration/summary.js --accumulate build/test-totals.json --final --jobs 1 $(IT_TESTS)

demo: build
	node build/js/integration/demo.js

bench: build
	node build/js/bench/bench.js

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/runsc-ts $(DESTDIR)$(PREFIX)/bin
	rm -rf $(DESTDIR)$(PREFIX)/lib/runsc-ts/*
	install -d $(DESTDIR)$(PREFIX)/lib/runsc-ts/js
	cp -r build/Release build/bin $(DESTDIR)$(PREFIX)/lib/runsc-ts/
	cd build/js && find shim -name '*.js' ! -name '*.test.js' -exec install -D -m 644 {} $(DESTDIR)$(PREFIX)/lib/runsc-ts/js/{} \;
	cp package.json package-lock.json $(DESTDIR)$(PREFIX)/lib/runsc-ts/
	cd $(DESTDIR)$(PREFIX)/lib/runsc-ts && npm ci --omit=dev --no-audit --no-fund --loglevel=error </dev/null
	ln -sf ../lib/runsc-ts/bin/containerd-shim-runsc-ts-v1 $(DESTDIR)$(PREFIX)/bin/containerd-shim-runsc-ts-v1
	ln -sf ../lib/runsc-ts/Release/runsc-ts-sentry $(DESTDIR)$(PREFIX)/bin/runsc-ts-sentry
	ln -sf ../lib/runsc-ts/Release/runsc-ts-gofer $(DESTDIR)$(PREFIX)/bin/runsc-ts-gofer
	install -d $(dir $(DESTDIR)$(CONTAINERD_CONFIG))
	node build/js/shim/install/containerd-config.js add $(DESTDIR)$(CONTAINERD_CONFIG)
	[ -f $(DESTDIR)/etc/containerd/runsc-ts.toml ] || install -m 644 deploy/runsc-ts.toml $(DESTDIR)/etc/containerd/runsc-ts.toml

uninstall:
	[ ! -f $(DESTDIR)$(CONTAINERD_CONFIG) ] || node build/js/shim/install/containerd-config.js remove $(DESTDIR)$(CONTAINERD_CONFIG)
	rm -f $(DESTDIR)$(PREFIX)/bin/containerd-shim-runsc-ts-v1 $(DESTDIR)$(PREFIX)/bin/runsc-ts-sentry \
	  $(DESTDIR)$(PREFIX)/bin/runsc-ts-gofer
	rm -rf $(DESTDIR)$(PREFIX)/lib/runsc-ts
	! cmp -s deploy/runsc-ts.toml $(DESTDIR)/etc/containerd/runsc-ts.toml || rm -f $(DESTDIR)/etc/containerd/runsc-ts.toml

clean:
	rm -rf build shim/gen integration/gen sentry-native/build .deps-stamp
