# hotline: the two commands a fresh Debian machine needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
SERVICES := scripts/services.sh
# Exports HOTLINE_DATABASE_URL and HOTLINE_REDIS_URL of the services the script started.
WITH_SERVICES = eval "$$($(SERVICES) env)" &&
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CONFIG ?= hotline.example.yaml

.PHONY: all build run test lint bench services-up services-down prompts browser clean

all: build

build:
	$(GO) build -o bin/hotline ./cmd/hotline

services-up:
	$(SERVICES) up

services-down:
	$(SERVICES) down

# Development prompts from the menu's texts (espeak-ng, sox) into .run/sounds; quick when
# they are up to date.
prompts:
	scripts/prompts -out .run/sounds

# Debian's chromium (and a CJK font) for the agent-desk browser test.
browser:
	scripts/browser.sh >/dev/null

# The demo: services, prompts, and the controller with an embedded simulated PBX and
# simulated callers; HTTP on 127.0.0.1:8080, the PBX on 127.0.0.1:8088.
run: services-up prompts build
	$(WITH_SERVICES) ./bin/hotline demo -config $(CONFIG)

# Every test, against real PostgreSQL and Redis started by the script, under the race detector.
test: services-up prompts browser
	$(WITH_SERVICES) $(GO) vet ./... && $(WITH_SERVICES) $(GO) test -race -count=1 -timeout 14m ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: services-up
	$(WITH_SERVICES) $(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin
