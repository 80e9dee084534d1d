package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/siyu-live/siyu/sandbox"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wxpay"
)

// WeChat is an external service to Siyu: in production every call to it
// crosses the network and costs Siyu a round trip, not WeChat's own work.
// So the bench runs the sandbox as a process of its own, unpinned like
// PostgreSQL and Redis, and points Siyu at it with WECHAT_SANDBOX=URL. The
// bench generates the WeChat Pay key material and hands it to that process,
// which is how the bench can sign payment notifications with the
// platform's key, as WeChat Pay does.

// roleEnv makes this binary run as the bench's WeChat sandbox.
const (
	roleEnv    = "SIYU_BENCH_ROLE"
	roleWeChat = "wechat"
	keysEnv    = "SIYU_BENCH_WECHAT_KEYS"
	// fanoutEnv is how many fan-out shoppers (fanoutOpenID) have opened
	// the mini-program and accepted the live-start template once.
	fanoutEnv = "SIYU_BENCH_FANOUT"
)

// fanoutOpenID is the openid of the i-th shopper the campaign fans out to.
func fanoutOpenID(i int) string { return fmt.Sprintf("o_fan_%06d", i) }

// keyFile is the WeChat Pay key material on disk, for the sandbox process.
type keyFile struct {
	MerchantKey    []byte `json:"merchant_key"` // PKCS #8 DER
	MerchantSerial string `json:"merchant_serial"`
	PublicKey      []byte `json:"public_key"` // PKCS #8 DER of the platform's signing key
	PublicKeyID    string `json:"public_key_id"`
	CertKey        []byte `json:"cert_key"`
	Cert           []byte `json:"cert"` // DER
	APIv3Key       string `json:"apiv3_key"`
}

// payKeys is what the bench needs to act as WeChat Pay towards Siyu.
type payKeys struct {
	keys     *wxpay.Keys
	apiV3Key string
	appID    string
	mchID    string
}

// newPayKeys generates fresh key material and writes it to path (0600).
func newPayKeys(path string) (*payKeys, error) {
	k, err := wxpay.GenerateKeys(time.Now())
	if err != nil {
		return nil, err
	}
	apiV3 := randomAlnum(32)
	kf := keyFile{MerchantSerial: k.MerchantSerial, PublicKeyID: k.PublicKeyID, Cert: k.Cert.Raw, APIv3Key: apiV3}
	for _, p := range []struct {
		dst *[]byte
		key *rsa.PrivateKey
	}{{&kf.MerchantKey, k.MerchantKey}, {&kf.PublicKey, k.PublicKey}, {&kf.CertKey, k.CertKey}} {
		if *p.dst, err = x509.MarshalPKCS8PrivateKey(p.key); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(kf)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return &payKeys{keys: k, apiV3Key: apiV3}, nil
}

// loadKeys reads the key material newPayKeys wrote.
func loadKeys(path string) (*wxpay.Keys, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var kf keyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return nil, "", err
	}
	k := &wxpay.Keys{MerchantSerial: kf.MerchantSerial, PublicKeyID: kf.PublicKeyID}
	for _, p := range []struct {
		der []byte
		dst **rsa.PrivateKey
	}{{kf.MerchantKey, &k.MerchantKey}, {kf.PublicKey, &k.PublicKey}, {kf.CertKey, &k.CertKey}} {
		key, err := x509.ParsePKCS8PrivateKey(p.der)
		if err != nil {
			return nil, "", err
		}
		rk, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, "", errors.New("not an RSA key")
		}
		*p.dst = rk
	}
	if k.Cert, err = x509.ParseCertificate(kf.Cert); err != nil {
		return nil, "", err
	}
	return k, kf.APIv3Key, nil
}

// weChatConfig is the sandbox the bench runs. Everything is the platform's
// documented behaviour, except one quota: msg_sec_check allows 4,000 calls
// a minute per mini-program, about 66 comments a second; past it Siyu hides
// comments without storing them for broadcast, which is cheaper and would
// flatter the comment scenario. The bench lifts that quota so every
// comment takes the whole path (the report says so).
func weChatConfig(k *wxpay.Keys, apiV3Key string) sandbox.Config {
	limits := miniprogram.DefaultLimits()
	limits["/wxa/msg_sec_check"] = miniprogram.Limit{}
	return sandbox.Config{
		MiniProgram: miniprogram.Config{Limits: limits},
		Pay:         wxpay.Config{Keys: k, APIv3Key: apiV3Key, Mode: wxpay.ModePublicKey},
	}
}

// runWeChat is this binary as the bench's WeChat sandbox process: it serves
// the sandbox on a free loopback port, prints the address and the settings
// Siyu needs as one JSON line, and runs until its stdin closes (the bench
// exited) or it is signalled.
func runWeChat() int {
	k, apiV3, err := loadKeys(os.Getenv(keysEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench wechat:", err)
		return 1
	}
	sb, err := sandbox.New(weChatConfig(k, apiV3))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench wechat:", err)
		return 1
	}
	defer sb.Close()
	// The fan-out's shoppers tapped "accept" on wx.requestSubscribeMessage
	// (the console's POST /subscribe does the same, one call each).
	n, _ := strconv.Atoi(os.Getenv(fanoutEnv))
	for i := range n {
		if err := sb.MiniProgram.GrantSubscribe(fanoutOpenID(i), miniprogram.TemplateLiveStart, 1); err != nil {
			fmt.Fprintln(os.Stderr, "bench wechat:", err)
			return 1
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench wechat:", err)
		return 1
	}
	settings, _ := json.Marshal(map[string]any{"addr": ln.Addr().String(), "settings": sb.Settings()})
	fmt.Println(string(settings))
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return 0
}

// weChatProcess is the running sandbox process.
type weChatProcess struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	addr     string
	settings map[string]string
}

// startWeChat starts this binary as the sandbox process with the keys at
// keysPath and waits for its address and settings.
func startWeChat(keysPath string, fanout int, logs io.Writer) (*weChatProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), roleEnv+"="+roleWeChat, keysEnv+"="+keysPath, fanoutEnv+"="+strconv.Itoa(fanout))
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the WeChat sandbox: %w", err)
	}
	p := &weChatProcess{cmd: cmd, stdin: in}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l, ok := <-line:
		var hello struct {
			Addr     string            `json:"addr"`
			Settings map[string]string `json:"settings"`
		}
		if !ok || json.Unmarshal([]byte(l), &hello) != nil {
			p.stop()
			return nil, errors.New("the WeChat sandbox did not start; see data/bench/wechat.log")
		}
		p.addr, p.settings = hello.Addr, hello.Settings
	case <-time.After(30 * time.Second):
		p.stop()
		return nil, errors.New("the WeChat sandbox did not start within 30s")
	}
	return p, nil
}

func (p *weChatProcess) stop() {
	_ = p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}
