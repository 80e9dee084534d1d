package miniprogramapi_test

import (
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/siyu-live/siyu/accesstoken"
	"github.com/siyu-live/siyu/sandbox"
)

// platforms routes silenceper/wechat's process-global HTTP client to the
// sandbox servers of the running test, by host. Every test of this package
// that talks to WeChat uses servePlatform; such tests do not run in parallel.
var platforms = &sandbox.Router{}

func TestMain(m *testing.M) {
	util.DefaultHTTPClient = &http.Client{Transport: platforms, Timeout: 10 * time.Second}
	os.Exit(m.Run())
}

// servePlatform makes host answer with h until the test ends.
func servePlatform(t *testing.T, host string, h http.Handler) {
	t.Helper()
	t.Cleanup(platforms.Handle(host, h))
}

// miniProgram is silenceper's mini-program client wired as the app wires
// it: access tokens come from an accesstoken.Cache in rdb, never from the
// SDK's own handle, whose memory cache reads its map without its lock and
// so races as soon as two requests need a token at once.
func miniProgram(t *testing.T, rdb redis.UniversalClient, appID, secret string, now func() time.Time, log *slog.Logger) (*wxmp.MiniProgram, *accesstoken.Cache) {
	t.Helper()
	tokens, err := accesstoken.New(accesstoken.Config{
		Name: "miniprogram:" + appID, Redis: rdb, Now: now, RefreshBefore: 5 * time.Minute, Logger: log,
		Fetch: accesstoken.StableToken(appID, secret),
	})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK wants a cache for the handle that tokens replaces at once.
	wx := wxmp.NewMiniProgram(&wxconfig.Config{AppID: appID, AppSecret: secret, Cache: cache.NewMemory()})
	wx.SetAccessTokenContextHandle(tokens)
	return wx, tokens
}
