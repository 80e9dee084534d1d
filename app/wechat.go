package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"

	"github.com/siyu-live/siyu/accesstoken"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/sandbox"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wecom"
)

// wechatClients are the silenceper/wechat clients of the mini-program and
// of WeCom, each with its access token shared through Redis. Other areas
// make their SDK calls with these clients, inside tokens.Retry so that an
// invalid or expired token is replaced once:
//
//	err := a.wechat.mpTokens.Retry(ctx, func(ctx context.Context) error {
//		_, err := a.wechat.mp.GetSubscribe().Send(msg)
//		return err
//	})
type wechatClients struct {
	mp       *wxmp.MiniProgram
	mpTokens *accesstoken.Cache
	// work and workTokens are nil when WeCom is not configured.
	work       *work.Work
	workTokens *accesstoken.Cache
	// sandbox is the in-process sandbox (WECHAT_SANDBOX=inprocess), else nil.
	sandbox *sandbox.Sandbox
	release func()
}

// newWeChat builds the clients for cfg: against the in-process sandbox, a
// standalone one, or the real platforms.
func newWeChat(cfg Config, rdb redis.UniversalClient, log *slog.Logger) (*wechatClients, error) {
	w := &wechatClients{}
	appID, appSecret := cfg.WeChatAppID, cfg.WeChatAppSecret
	corpID, corpSecret, agentID := cfg.WeComCorpID, cfg.WeComCorpSecret, cfg.WeComAgentID
	var rt http.RoundTripper
	// Comment moderation calls msg_sec_check many at once: keep that many
	// connections open rather than the default two, so calls do not dial
	// (and shake hands) anew.
	pooled := http.DefaultTransport.(*http.Transport).Clone()
	pooled.MaxIdleConnsPerHost = 64
	switch {
	case cfg.WeChatSandbox == "inprocess":
		sb, err := newDevSandbox(cfg)
		if err != nil {
			return nil, err
		}
		w.sandbox = sb
		rt = sb.Transport(pooled)
		s := sb.Settings()
		appID, appSecret = or(appID, s[miniprogram.SettingAppID]), or(appSecret, s[miniprogram.SettingAppSecret])
		corpID, corpSecret, agentID = or(corpID, s["WECOM_CORP_ID"]), or(corpSecret, s["WECOM_CORP_SECRET"]), or(agentID, s["WECOM_AGENT_ID"])
	case cfg.WeChatSandbox == "off":
		rt = pooled
	default:
		base, err := url.Parse(cfg.WeChatSandbox)
		if err != nil {
			return nil, &ConfigError{"WECHAT_SANDBOX", err.Error()}
		}
		rt = sandbox.Remote(base, pooled)
		// A standalone sandbox has the default credentials unless told
		// otherwise, as `siyu sandbox` prints.
		appID, appSecret = or(appID, miniprogram.DefaultAppID), or(appSecret, miniprogram.DefaultAppSecret)
		corpID, corpSecret, agentID = or(corpID, wecom.DefaultCorpID), or(corpSecret, wecom.DefaultCorpSecret), or(agentID, wecom.DefaultAgentID)
	}
	w.release = useWeChatTransport(rt)

	var err error
	w.mp = wxmp.NewMiniProgram(&wxconfig.Config{AppID: appID, AppSecret: appSecret, Cache: cache.NewMemory(), UseStableAK: true})
	w.mpTokens, err = accesstoken.New(accesstoken.Config{
		Name:  "miniprogram:" + appID,
		Redis: rdb,
		Fetch: accesstoken.StableToken(appID, appSecret),
		// stable_token hands out a new token in the last five minutes.
		RefreshBefore: 5 * time.Minute,
		Logger:        log,
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	// The context variant of silenceper's SetAccessTokenHandle, so the
	// caller's deadline reaches the token fetch.
	w.mp.SetAccessTokenContextHandle(w.mpTokens)

	if corpID != "" && corpSecret != "" {
		w.work = work.NewWork(&workconfig.Config{
			CorpID: corpID, CorpSecret: corpSecret, AgentID: agentID, Cache: cache.NewMemory(),
			Token: cfg.WeComCallbackToken, EncodingAESKey: cfg.WeComCallbackAES,
		})
		w.workTokens, err = accesstoken.New(accesstoken.Config{
			Name:  "wecom:" + corpID + ":" + agentID,
			Redis: rdb,
			Fetch: accesstoken.WorkToken(corpID, corpSecret),
			// gettoken hands out the same token until it expires.
			RefreshBefore: 0,
			Logger:        log,
		})
		if err != nil {
			w.Close()
			return nil, err
		}
		// silenceper's work client has no SetAccessTokenHandle; its
		// context's handle is the same hook.
		w.work.GetContext().AccessTokenHandle = w.workTokens
	}
	return w, nil
}

// newDevSandbox is the in-process sandbox of WECHAT_SANDBOX=inprocess, with
// WeCom's callbacks aimed at Siyu's own callback URL.
func newDevSandbox(cfg Config) (*sandbox.Sandbox, error) {
	return sandbox.New(sandbox.Config{
		WeCom: wecom.Config{Callback: wecom.Callback{URL: strings.TrimSuffix(cfg.PublicURL.String(), "/") + "/callbacks/wecom"}},
	})
}

// mountSandbox serves the in-process sandbox's consoles (the shopper's
// phone, faults, inspection) under /sandbox/ on Siyu's own server.
func (w *wechatClients) mountSandbox(app *fiber.App) {
	if w.sandbox == nil {
		return
	}
	h := edge.HTTPHandler(w.sandbox, 30*time.Second)
	app.All("/sandbox", func(c *fiber.Ctx) error { return c.Redirect("/sandbox/", http.StatusFound) })
	app.All("/sandbox/*", h)
}

// Close releases the clients and stops the in-process sandbox.
func (w *wechatClients) Close() {
	if w.release != nil {
		w.release()
	}
	if w.sandbox != nil {
		_ = w.sandbox.Close()
	}
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// silenceper/wechat sends every request through one process-global client,
// util.DefaultHTTPClient. Siyu installs it once, with a transport that
// forwards to the WeChat transport of the application built last (one per
// process in production; tests start applications one at a time).
var (
	wechatRoute   atomic.Pointer[http.RoundTripper]
	installClient sync.Once
)

// errNoWeChatRoute is returned for SDK calls after the application that
// owned the WeChat transport has closed.
var errNoWeChatRoute = errors.New("no WeChat transport: the application was closed")

// useWeChatTransport routes silenceper/wechat through rt, and returns a
// function that stops doing so (unless another application took over).
func useWeChatTransport(rt http.RoundTripper) func() {
	installClient.Do(func() {
		// The SDK's calls carry no deadline of their own.
		util.DefaultHTTPClient = &http.Client{Transport: wechatTransport{}, Timeout: 15 * time.Second}
	})
	p := &rt
	wechatRoute.Store(p)
	return func() { wechatRoute.CompareAndSwap(p, nil) }
}

type wechatTransport struct{}

func (wechatTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	p := wechatRoute.Load()
	if p == nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Host, errNoWeChatRoute)
	}
	return (*p).RoundTrip(r)
}
