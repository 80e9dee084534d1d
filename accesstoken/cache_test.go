package accesstoken_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/work"
	workconfig "github.com/silenceper/wechat/v2/work/config"

	"github.com/siyu-live/siyu/accesstoken"
	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/sandbox/wecom"
	"github.com/siyu-live/siyu/testsupport"
)

const (
	pathStable = "/cgi-bin/stable_token"
	pathPhone  = "/wxa/business/getuserphonenumber"
	pathWork   = "/cgi-bin/gettoken"
	pathFollow = "/cgi-bin/externalcontact/get_follow_user_list"
)

// eachRedis runs fn against miniredis and, when TEST_REDIS_URL is set, a
// real Redis server.
func eachRedis(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		fn(t, "redis://"+m.Addr()+"/0")
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, testsupport.RealRedis(t))
	})
}

// newCache returns a Cache with its own Redis client, as a separate process
// would have.
func newCache(t *testing.T, url string, clk *clock, fetch accesstoken.Fetcher, tune func(*accesstoken.Config)) *accesstoken.Cache {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	cfg := accesstoken.Config{
		Name:          "miniprogram:" + miniprogram.DefaultAppID,
		Redis:         rdb,
		Fetch:         fetch,
		Now:           clk.Now,
		RefreshBefore: 5 * time.Minute,
		MinBackoff:    200 * time.Millisecond,
		MaxBackoff:    time.Second,
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := accesstoken.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newMiniProgram(t *testing.T, clk *clock) *miniprogram.Server {
	t.Helper()
	mp, err := miniprogram.New(miniprogram.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, "api.weixin.qq.com", mp)
	return mp
}

func stableFetch() accesstoken.Fetcher {
	return accesstoken.StableToken(miniprogram.DefaultAppID, miniprogram.DefaultAppSecret)
}

// concurrently runs fn(i) for i in [0,n) at once and waits for all.
func concurrently(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// TestOneFetchAtExpiry: twenty processes (separate caches and Redis
// clients) asking for the token when it is due or expired cause exactly one
// stable_token call.
func TestOneFetchAtExpiry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		advance time.Duration
	}{
		{"expired", 7200 * time.Second},
		{"due", 7200*time.Second - 4*time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachRedis(t, func(t *testing.T, url string) {
				clk := newClock()
				newMiniProgram(t, clk)
				ctx := t.Context()
				old, err := newCache(t, url, clk, stableFetch(), nil).GetAccessTokenContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if n := calls(pathStable); n != 1 {
					t.Fatalf("first token: %d stable_token calls, want 1", n)
				}
				clk.Advance(tc.advance)
				caches := make([]*accesstoken.Cache, 20)
				for i := range caches {
					caches[i] = newCache(t, url, clk, stableFetch(), nil)
				}
				got := make([]string, len(caches))
				errs := make([]error, len(caches))
				concurrently(len(caches), func(i int) {
					got[i], errs[i] = caches[i].GetAccessTokenContext(ctx)
				})
				if n := calls(pathStable); n != 2 {
					t.Fatalf("%d stable_token calls in all, want exactly 2 (one at start, one at expiry)", n)
				}
				fresh, err := newCache(t, url, clk, stableFetch(), nil).GetAccessTokenContext(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if fresh == old {
					t.Fatal("the token in Redis was not refreshed")
				}
				for i := range got {
					if errs[i] != nil {
						t.Fatalf("process %d: %v", i, errs[i])
					}
					// A due token is still valid, so processes that did not
					// refresh may keep using it; an expired one never.
					if got[i] != fresh && (tc.name == "expired" || got[i] != old) {
						t.Fatalf("process %d got an unexpected token", i)
					}
				}
				if n := calls(pathStable); n != 2 {
					t.Fatalf("reading the refreshed token called stable_token: %d calls", n)
				}
			})
		})
	}
}

// TestRetryInvalidatesOnce: a 40001 answer invalidates the token the call
// used and the call runs once more; a persistent one is not retried again.
func TestRetryInvalidatesOnce(t *testing.T) {
	eachRedis(t, func(t *testing.T, url string) {
		clk := newClock()
		mp := newMiniProgram(t, clk)
		c := newCache(t, url, clk, stableFetch(), nil)
		wx := wxmp.NewMiniProgram(&wxconfig.Config{AppID: miniprogram.DefaultAppID, AppSecret: miniprogram.DefaultAppSecret, Cache: cache.NewMemory()})
		wx.SetAccessTokenContextHandle(c)
		ctx := t.Context()

		code, err := mp.MintPhoneCode("13800138000")
		if err != nil {
			t.Fatal(err)
		}
		mp.Faults().Add(fault.Rule{Path: "getuserphonenumber", Errcode: accesstoken.CodeInvalidCredential, Times: 1})
		var phone string
		err = c.Retry(ctx, func(ctx context.Context) error {
			res, err := wx.GetAuth().GetPhoneNumberContext(ctx, code)
			if err == nil {
				phone = res.PhoneInfo.PhoneNumber
			}
			return err
		})
		if err != nil || phone != "13800138000" {
			t.Fatalf("Retry = %q, %v", phone, err)
		}
		if a, s := calls(pathPhone), calls(pathStable); a != 2 || s != 2 {
			t.Fatalf("getuserphonenumber %d times, stable_token %d times; want 2 and 2", a, s)
		}

		mp.Faults().Add(fault.Rule{Path: "getuserphonenumber", Errcode: accesstoken.CodeTokenExpired})
		t.Cleanup(mp.Faults().Clear)
		err = c.Retry(ctx, func(ctx context.Context) error {
			_, err := wx.GetAuth().GetPhoneNumberContext(ctx, code)
			return err
		})
		if code, _ := accesstoken.ErrCode(err); code != accesstoken.CodeTokenExpired {
			t.Fatalf("persistent 42001: err = %v", err)
		}
		if a := calls(pathPhone); a != 4 {
			t.Fatalf("a persistent token error was tried %d times, want 2", a-2)
		}
	})
}

// TestInvalidateKeepsNewerToken: invalidating a token another process has
// already replaced leaves the replacement in place.
func TestInvalidateKeepsNewerToken(t *testing.T) {
	eachRedis(t, func(t *testing.T, url string) {
		clk := newClock()
		newMiniProgram(t, clk)
		ctx := t.Context()
		a := newCache(t, url, clk, stableFetch(), nil)
		b := newCache(t, url, clk, stableFetch(), nil)
		t1, err := a.GetAccessTokenContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(7200 * time.Second)
		t2, err := b.GetAccessTokenContext(ctx)
		if err != nil || t2 == t1 {
			t.Fatalf("refresh: %v (same token: %v)", err, t2 == t1)
		}
		if err := a.Invalidate(ctx, t1); err != nil {
			t.Fatal(err)
		}
		got, err := newCache(t, url, clk, stableFetch(), nil).GetAccessTokenContext(ctx)
		if err != nil || got != t2 {
			t.Fatalf("after a stale invalidate got %v, want the newer token", err)
		}
		if n := calls(pathStable); n != 2 {
			t.Fatalf("%d stable_token calls, want 2", n)
		}
		if err := b.Invalidate(ctx, t2); err != nil {
			t.Fatal(err)
		}
		if _, err := newCache(t, url, clk, stableFetch(), nil).GetAccessTokenContext(ctx); err != nil {
			t.Fatal(err)
		}
		if n := calls(pathStable); n != 3 {
			t.Fatalf("invalidating the current token: %d stable_token calls, want 3", n)
		}
	})
}

// TestRedisOutage: with Redis unreachable each process fetches once and
// then serves its own copy; when WeChat fails too, each process tries once
// per back-off period.
func TestRedisOutage(t *testing.T) {
	clk := newClock()
	mp := newMiniProgram(t, clk)
	m := miniredis.RunT(t)
	url := "redis://" + m.Addr() + "/0"
	m.Close()
	ctx := t.Context()

	const processes, callers, rounds = 5, 20, 5
	run := func(tune func(*accesstoken.Config)) (tokens map[string]int, errs int) {
		caches := make([]*accesstoken.Cache, processes)
		for i := range caches {
			caches[i] = newCache(t, url, clk, stableFetch(), tune)
		}
		var mu sync.Mutex
		tokens = map[string]int{}
		for range rounds {
			concurrently(processes*callers, func(i int) {
				tok, err := caches[i%processes].GetAccessTokenContext(ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					return
				}
				tokens[tok]++
			})
		}
		return tokens, errs
	}

	tokens, errs := run(nil)
	if errs != 0 || len(tokens) != 1 {
		t.Fatalf("with WeChat up: %d errors, %d distinct tokens", errs, len(tokens))
	}
	if n := calls(pathStable); n != processes {
		t.Fatalf("with Redis down: %d stable_token calls for %d processes × %d calls", n, processes, callers*rounds)
	}

	mp.Faults().Add(fault.Rule{Path: "stable_token", Status: 503})
	t.Cleanup(mp.Faults().Clear)
	before := calls(pathStable)
	_, errs = run(func(c *accesstoken.Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Minute })
	if errs != processes*callers*rounds {
		t.Fatalf("with WeChat down: %d errors, want every call to fail", errs)
	}
	if n := calls(pathStable) - before; n != processes {
		t.Fatalf("with Redis and WeChat down: %d stable_token calls, want one per process (%d)", n, processes)
	}
}

// TestBackoffShared: a failed fetch makes every process back off instead
// of asking WeChat again, until the back-off ends.
func TestBackoffShared(t *testing.T) {
	eachRedis(t, func(t *testing.T, url string) {
		clk := newClock()
		mp := newMiniProgram(t, clk)
		ctx := t.Context()
		mp.Faults().Add(fault.Rule{Path: "stable_token", Errcode: 45011, Errmsg: "api minute-quota reach limit"})
		caches := make([]*accesstoken.Cache, 20)
		for i := range caches {
			caches[i] = newCache(t, url, clk, stableFetch(), func(c *accesstoken.Config) {
				c.MinBackoff, c.MaxBackoff = time.Second, time.Second
			})
		}
		for round := range 3 {
			errs := make([]error, len(caches))
			concurrently(len(caches), func(i int) {
				_, errs[i] = caches[i].GetAccessTokenContext(ctx)
			})
			for i, err := range errs {
				code, _ := accesstoken.ErrCode(err)
				if !errors.Is(err, accesstoken.ErrUnavailable) || code != 45011 {
					t.Fatalf("round %d, process %d: err = %v, want ErrUnavailable with errcode 45011", round, i, err)
				}
			}
		}
		if n := calls(pathStable); n != 1 {
			t.Fatalf("%d stable_token calls during the back-off, want 1", n)
		}
		mp.Faults().Clear()
		// Real time: the back-off is shared through Redis, across clocks.
		time.Sleep(1100 * time.Millisecond)
		if _, err := caches[0].GetAccessTokenContext(ctx); err != nil {
			t.Fatalf("after the back-off: %v", err)
		}
		if n := calls(pathStable); n != 2 {
			t.Fatalf("%d stable_token calls, want 2", n)
		}
	})
}

// TestWorkToken: the WeCom token plugs into the SDK's work client, and an
// expired token is replaced once.
func TestWorkToken(t *testing.T) {
	eachRedis(t, func(t *testing.T, url string) {
		clk := newClock()
		corp, err := wecom.New(wecom.Config{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(corp.Close)
		serve(t, "qyapi.weixin.qq.com", corp)
		c := newCache(t, url, clk, accesstoken.WorkToken(wecom.DefaultCorpID, wecom.DefaultCorpSecret), func(cfg *accesstoken.Config) {
			cfg.Name = "wecom:" + wecom.DefaultCorpID
			cfg.RefreshBefore = 0
		})
		wk := work.NewWork(&workconfig.Config{CorpID: wecom.DefaultCorpID, CorpSecret: wecom.DefaultCorpSecret, Cache: cache.NewMemory()})
		wk.GetContext().AccessTokenHandle = c
		follow := func(ctx context.Context) error {
			users, err := wk.GetExternalContact().GetFollowUserList()
			if err == nil && len(users) == 0 {
				t.Fatal("no follow users")
			}
			return err
		}
		if err := c.Retry(t.Context(), follow); err != nil {
			t.Fatal(err)
		}
		corp.ExpireTokens()
		if err := c.Retry(t.Context(), follow); err != nil {
			t.Fatalf("after the token expired: %v", err)
		}
		if g, f := calls(pathWork), calls(pathFollow); g != 2 || f != 3 {
			t.Fatalf("gettoken %d times, get_follow_user_list %d times; want 2 and 3", g, f)
		}
	})
}

// TestRedact: secrets in SDK error messages are replaced.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http get error : uri=https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=S3cr3t , statusCode=503",
			"http get error : uri=https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=REDACTED , statusCode=503"},
		{`Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=abc&js_code=xyz&grant_type=authorization_code": timeout`,
			`Get "https://api.weixin.qq.com/sns/jscode2session?appid=wx1&secret=REDACTED&js_code=REDACTED&grant_type=authorization_code": timeout`},
		{"errcode=40029 , errmsg=invalid code", "errcode=40029 , errmsg=invalid code"},
	} {
		if got := accesstoken.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}
