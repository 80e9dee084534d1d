package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSandboxStandalone runs `siyu sandbox` on its own: it prints the
// settings Siyu needs (keys as files), and its consoles answer.
func TestSandboxStandalone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr lockedBuffer
	done := make(chan int, 1)
	dir := t.TempDir()
	go func() {
		done <- run(ctx, []string{"siyu", "sandbox", "--addr", "127.0.0.1:0", "--dir", dir}, func(string) string { return "" }, outW, &stderr)
		outW.Close()
	}()
	settings := map[string]string{}
	var base string
	sc := bufio.NewScanner(outR)
	deadline := time.After(30 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
read:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("sandbox exited early: %s", stderr.String())
			}
			if u, found := strings.CutPrefix(line, "siyu: sandbox listening on "); found {
				base = u
			} else if k, v, found := strings.Cut(line, "="); found && !strings.HasPrefix(line, "#") {
				settings[k] = v
			}
			if strings.HasPrefix(line, "# The shopper's phone") {
				break read
			}
		case <-deadline:
			t.Fatal("sandbox printed nothing within 30s")
		}
	}
	go func() {
		for range lines {
		}
	}()
	for _, k := range []string{"WECHAT_SANDBOX", "WECHAT_APP_ID", "WECHAT_APP_SECRET", "WECHATPAY_MCH_ID", "WECHATPAY_MCH_CERT_SERIAL", "WECHATPAY_MCH_PRIVATE_KEY_FILE", "WECHATPAY_APIV3_KEY", "WECOM_CORP_ID"} {
		if settings[k] == "" {
			t.Errorf("setting %s not printed", k)
		}
	}
	if b, err := os.ReadFile(settings["WECHATPAY_MCH_PRIVATE_KEY_FILE"]); err != nil || !strings.Contains(string(b), "PRIVATE KEY") {
		t.Errorf("merchant key file: %v", err)
	}
	// The printed settings are ones Siyu accepts.
	if _, err := loadConfig(func(k string) string { return settings[k] }); err != nil {
		t.Errorf("Siyu rejects the printed settings: %v", err)
	}
	resp, err := http.Post(base+"/sandbox/miniprogram/login-code", "application/json", strings.NewReader(`{"openid":"o-dev","unionid":"u-dev"}`))
	if err != nil {
		t.Fatal(err)
	}
	var code struct{ Code string }
	_ = json.NewDecoder(resp.Body).Decode(&code)
	resp.Body.Close()
	if resp.StatusCode != 200 || code.Code == "" {
		t.Fatalf("login-code: %d %+v", resp.StatusCode, code)
	}
	cancel()
	select {
	case c := <-done:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop")
	}
}
