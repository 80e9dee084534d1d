# Siyu. `make run` starts everything on this machine; `make test` runs every test.
GO ?= go
LIVEKIT := bin/livekit-server
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build livekit run test lint bench clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/siyu ./app

# The LiveKit server is pinned in tools/livekit; building it takes minutes,
# so it is built once and kept in bin/.
livekit: $(LIVEKIT)
$(LIVEKIT): tools/livekit/go.mod tools/livekit/go.sum
	cd tools/livekit && $(GO) build -o ../../$(LIVEKIT) github.com/livekit/livekit-server/cmd/server

run: build livekit
	./scripts/run.sh

test: livekit
	$(GO) test -race -count=1 -timeout 20m ./...
	# The race detector slows the campaign engine tenfold, so the -race run
	# walks 10,000 members; the acceptance size, 100,000, runs without it.
	$(GO) test -count=1 -timeout 20m -run 'TestCampaignToOneHundredThousandMembers' ./jobs/

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	./scripts/check-layers.sh

bench: build livekit
	$(GO) run ./bench

clean:
	rm -rf bin data
