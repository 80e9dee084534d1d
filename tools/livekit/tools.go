//go:build tools

// Package livekit pins the LiveKit server that Siyu runs and tests against.
// `make livekit` builds it into bin/livekit-server.
package livekit

import _ "github.com/livekit/livekit-server/cmd/server"
