package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/siyu-live/siyu/sandbox"
	"github.com/siyu-live/siyu/sandbox/wecom"
)

// cmdSandbox runs the WeChat, WeCom and WeChat Pay sandbox on its own, and
// prints the settings a Siyu needs to talk to it. Multi-line secrets (PEM
// keys) are written to files and printed as NAME_FILE.
func cmdSandbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("sandbox", "sandbox [--addr :8090] [--dir data/sandbox] [--siyu-url http://localhost:8080]", stderr)
	addr := fs.String("addr", ":8090", "address to listen on")
	dir := fs.String("dir", filepath.Join("data", "sandbox"), "folder for the generated keys")
	siyuURL := fs.String("siyu-url", "http://localhost:8080", "where Siyu listens: WeCom callbacks go to {siyu-url}/callbacks/wecom")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sb, err := sandbox.New(sandbox.Config{
		WeCom: wecom.Config{Callback: wecom.Callback{URL: strings.TrimSuffix(*siyuURL, "/") + "/callbacks/wecom"}},
	})
	if err != nil {
		return err
	}
	defer sb.Close()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if h, p, err := net.SplitHostPort(ln.Addr().String()); err == nil && (h == "::" || h == "0.0.0.0" || h == "") {
		base = "http://localhost:" + p
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	settings := sb.Settings()
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Fprintf(stdout, "siyu: sandbox listening on %s\n", base)
	fmt.Fprintf(stdout, "# Start Siyu against this sandbox with these settings:\nWECHAT_SANDBOX=%s\n", base)
	for _, k := range names {
		v := settings[k]
		if strings.Contains(v, "\n") {
			path := filepath.Join(*dir, strings.ToLower(k)+".pem")
			if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
				return err
			}
			abs, _ := filepath.Abs(path)
			fmt.Fprintf(stdout, "%s_FILE=%s\n", k, abs)
			continue
		}
		fmt.Fprintf(stdout, "%s=%s\n", k, v)
	}
	fmt.Fprintf(stdout, "# The shopper's phone, faults and inspection: %s/sandbox/\n", base)

	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
