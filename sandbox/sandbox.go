package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wecom"
	"github.com/siyu-live/siyu/sandbox/wxpay"
)

// Config configures every platform of the sandbox.
type Config struct {
	MiniProgram miniprogram.Config
	WeCom       wecom.Config
	Pay         wxpay.Config
}

// Sandbox is the whole offline stand-in: the mini-program, WeCom and WeChat
// Pay platforms behind one handler.
type Sandbox struct {
	MiniProgram *miniprogram.Server
	WeCom       *wecom.Server
	Pay         *wxpay.Server
	mux         *http.ServeMux
}

// The paths under which each platform's console (the shopper's phone,
// faults and inspection) is served.
const (
	ConsoleMiniProgram = "/sandbox/miniprogram"
	ConsoleWeCom       = "/sandbox/wecom"
	ConsolePay         = "/sandbox/wxpay"
)

// New starts every platform.
func New(cfg Config) (*Sandbox, error) {
	mp, err := miniprogram.New(cfg.MiniProgram)
	if err != nil {
		return nil, fmt.Errorf("sandbox mini-program: %w", err)
	}
	wc, err := wecom.New(cfg.WeCom)
	if err != nil {
		return nil, fmt.Errorf("sandbox WeCom: %w", err)
	}
	if cfg.Pay.AppID == "" {
		// The merchant is bound to the sandbox's own mini-program.
		cfg.Pay.AppID = mp.Settings()["WECHAT_APP_ID"]
	}
	pay, err := wxpay.New(cfg.Pay)
	if err != nil {
		wc.Close()
		return nil, fmt.Errorf("sandbox WeChat Pay: %w", err)
	}
	s := &Sandbox{MiniProgram: mp, WeCom: wc, Pay: pay, mux: http.NewServeMux()}
	s.mux.Handle("/"+HostMiniProgram+"/", http.StripPrefix("/"+HostMiniProgram, mp))
	s.mux.Handle("/"+HostWeCom+"/", http.StripPrefix("/"+HostWeCom, wc))
	s.mux.Handle("/"+HostPay+"/", http.StripPrefix("/"+HostPay, pay))
	s.mux.Handle(ConsoleMiniProgram+"/", http.StripPrefix(ConsoleMiniProgram, mp.Console()))
	s.mux.Handle(ConsoleWeCom+"/", http.StripPrefix(ConsoleWeCom, wc.Console()))
	s.mux.Handle(ConsolePay+"/", http.StripPrefix(ConsolePay, pay.Console()))
	s.mux.HandleFunc("/sandbox/{$}", s.index)
	return s, nil
}

// ServeHTTP serves a platform's API at "/{host}{path}" and the consoles
// under /sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Transport returns a RoundTripper that serves the WeChat hosts from this
// sandbox in-process and sends everything else to next.
func (s *Sandbox) Transport(next http.RoundTripper) http.RoundTripper {
	return InProcess(s, next)
}

// Settings returns every setting Siyu needs to talk to this sandbox.
func (s *Sandbox) Settings() map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{s.MiniProgram.Settings(), s.WeCom.Settings(), s.Pay.Settings()} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Close stops the sandbox's background deliveries.
func (s *Sandbox) Close() error {
	s.WeCom.Close()
	return errors.Join(s.Pay.Close())
}

// index lists the consoles and the non-secret settings, for people.
func (s *Sandbox) index(w http.ResponseWriter, r *http.Request) {
	settings := s.Settings()
	public := map[string]string{}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if strings.Contains(k, "KEY") || strings.Contains(k, "SECRET") || strings.Contains(k, "CERT") || strings.Contains(k, "TOKEN") {
			continue
		}
		public[k] = settings[k]
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"consoles": map[string]string{
			"miniprogram": ConsoleMiniProgram + "/",
			"wecom":       ConsoleWeCom + "/",
			"wxpay":       ConsolePay + "/",
		},
		"settings": public,
	})
}
