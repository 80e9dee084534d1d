package testsupport

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LiveKit is a running LiveKit server started for a test.
type LiveKit struct {
	URL       string // ws://127.0.0.1:PORT
	HTTPURL   string // http://127.0.0.1:PORT
	APIKey    string
	APISecret string
	logs      *syncBuffer
}

// Logs returns what the server has printed so far.
func (lk *LiveKit) Logs() string { return lk.logs.String() }

// LiveKitOptions configures StartLiveKit.
type LiveKitOptions struct {
	// WebhookURLs receive the server's webhooks, signed with the API key.
	WebhookURLs []string
}

// The key pair tests use; LiveKit wants a secret of at least 32 characters.
const (
	testLiveKitKey    = "siyutestkey"
	testLiveKitSecret = "siyu-test-secret-0123456789abcdefghijkl"
)

// StartLiveKit starts the pinned bin/livekit-server on loopback with free
// ports and stops it when the test ends. Outside CI it skips when the binary
// has not been built (make livekit); in CI it fails.
func StartLiveKit(t testing.TB, opts LiveKitOptions) *LiveKit {
	t.Helper()
	if _, err := os.Stat(LiveKitBinary()); err != nil {
		need(t, "LiveKit server not built at %s (run make livekit): %v", LiveKitBinary(), err)
	}
	lk, stop, err := LaunchLiveKit(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return lk
}

// LaunchLiveKit starts the pinned bin/livekit-server on loopback with free
// ports, waits until it answers, and returns it with the function that
// stops it. Tests use StartLiveKit; the benchmarks call this directly.
func LaunchLiveKit(opts LiveKitOptions) (*LiveKit, func(), error) {
	bin := LiveKitBinary()
	ports, err := freePorts()
	if err != nil {
		return nil, nil, err
	}
	port, tcpPort, udpPort := ports[0], ports[1], ports[2]
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "port: %d\n", port)
	fmt.Fprintf(&cfg, "rtc:\n  tcp_port: %d\n  udp_port: %d\n  use_external_ip: false\n", tcpPort, udpPort)
	fmt.Fprintf(&cfg, "keys:\n  %s: %s\n", testLiveKitKey, testLiveKitSecret)
	fmt.Fprintf(&cfg, "logging:\n  level: info\n")
	if len(opts.WebhookURLs) > 0 {
		fmt.Fprintf(&cfg, "webhook:\n  api_key: %s\n  urls:\n", testLiveKitKey)
		for _, u := range opts.WebhookURLs {
			fmt.Fprintf(&cfg, "    - %s\n", u)
		}
	}
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--node-ip", "127.0.0.1", "--config-body", cfg.String())
	cmd.Stdout = logs
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start LiveKit: %w", err)
	}
	stop := func() {
		// LiveKit drains rooms on a signal for up to several seconds; a test
		// server holds nothing worth draining, so give it a moment only.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	lk := &LiveKit{
		URL:       fmt.Sprintf("ws://127.0.0.1:%d", port),
		HTTPURL:   fmt.Sprintf("http://127.0.0.1:%d", port),
		APIKey:    testLiveKitKey,
		APISecret: testLiveKitSecret,
		logs:      logs,
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(lk.HTTPURL)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return lk, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("LiveKit did not answer within 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LiveKitBinary returns the path of bin/livekit-server in the module root.
func LiveKitBinary() string {
	return filepath.Join(ModuleRoot(), "bin", "livekit-server")
}

// ModuleRoot returns the folder holding Siyu's go.mod, found upward from the
// working directory.
func ModuleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/siyu-live/siyu\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// freePorts returns two free TCP ports and one free UDP port on loopback.
func freePorts() ([3]int, error) {
	var out [3]int
	for i := range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return out, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return out, fmt.Errorf("free udp port: %w", err)
	}
	defer c.Close()
	out[2] = c.LocalAddr().(*net.UDPAddr).Port
	return out, nil
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
