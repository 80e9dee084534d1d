package community_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/accesstoken"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/sandbox/fault"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is a Members service on a database, Redis and the sandbox
// mini-program, all on one test clock.
type world struct {
	members *community.Members
	mp      *miniprogram.Server
	clk     *clock
	db      *bun.DB
}

func newWorld(t *testing.T, db *bun.DB, redisURL string, tune func(*community.MembersConfig)) *world {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 1, 2, 0, 30, 0, time.UTC)}
	mp, err := miniprogram.New(miniprogram.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	servePlatform(t, "api.weixin.qq.com", mp)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	tokens, err := accesstoken.New(accesstoken.Config{
		Name: "miniprogram:" + miniprogram.DefaultAppID, Redis: rdb, Now: clk.Now, RefreshBefore: 5 * time.Minute,
		Fetch: accesstoken.StableToken(miniprogram.DefaultAppID, miniprogram.DefaultAppSecret),
	})
	if err != nil {
		t.Fatal(err)
	}
	wx := wxmp.NewMiniProgram(&wxconfig.Config{AppID: miniprogram.DefaultAppID, AppSecret: miniprogram.DefaultAppSecret, Cache: cache.NewMemory()})
	wx.SetAccessTokenContextHandle(tokens)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := community.MembersConfig{
		DB: db, Redis: rdb, WeChat: community.NewMiniProgramAuth(wx, tokens), SecretKey: key, Now: clk.Now,
	}
	if tune != nil {
		tune(&cfg)
	}
	m, err := community.NewMembers(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{members: m, mp: mp, clk: clk, db: db}
}

// login logs openid in from ip with a fresh wx.login code.
func (w *world) login(t *testing.T, openid, unionid string, req community.LoginRequest) community.Login {
	t.Helper()
	req.Code = w.mp.MintLoginCode(openid, unionid)
	l, err := w.members.Login(t.Context(), req)
	if err != nil {
		t.Fatalf("login %s: %v", openid, err)
	}
	return l
}

func count(t *testing.T, db *bun.DB, table string) int {
	t.Helper()
	n, err := db.NewSelect().Table(table).Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestLogin(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		first := w.login(t, "o-alice", "", community.LoginRequest{IP: "10.0.0.1"})
		if !first.NewMember || first.Member.OpenID != "o-alice" || first.Member.UnionID != "" {
			t.Fatalf("first login = %+v", first)
		}
		if !strings.HasPrefix(first.Token, "sym_") || !first.ExpiresAt.Equal(w.clk.Now().Add(30*24*time.Hour)) {
			t.Fatalf("token %q expires %s", first.Token[:4], first.ExpiresAt)
		}
		id, err := w.members.Authenticate(ctx, first.Token)
		if err != nil || id != first.Member.ID {
			t.Fatalf("authenticate = %q, %v", id, err)
		}
		// A later login finds the member, keeps the first session and
		// learns the unionid once the mini-program has one.
		again := w.login(t, "o-alice", "u-alice", community.LoginRequest{IP: "10.0.0.1"})
		if again.NewMember || again.Member.ID != first.Member.ID || again.Member.UnionID != "u-alice" || again.Token == first.Token {
			t.Fatalf("second login = %+v", again)
		}
		if _, err := w.members.Authenticate(ctx, first.Token); err != nil {
			t.Fatalf("first session after a second login: %v", err)
		}
		if m, err := w.members.ByOpenID(ctx, "o-alice"); err != nil || m.UnionID != "u-alice" {
			t.Fatalf("by openid = %+v, %v", m, err)
		}
		if _, err := w.members.Get(ctx, "nobody"); !errors.Is(err, community.ErrMemberNotFound) {
			t.Fatalf("unknown member: %v", err)
		}
		many, err := w.members.GetMany(ctx, []string{first.Member.ID, "nobody"})
		if err != nil || len(many) != 1 || many[first.Member.ID].OpenID != "o-alice" {
			t.Fatalf("get many = %+v, %v", many, err)
		}

		// The session key is stored sealed and opens to WeChat's 16 bytes.
		var sealed string
		if err := db.NewSelect().Table("member_wechat_sessions").Column("session_key").Where("member_id = ?", first.Member.ID).Scan(ctx, &sealed); err != nil {
			t.Fatal(err)
		}
		key, err := w.members.SessionKey(ctx, first.Member.ID)
		if err != nil || len(key) != 16 {
			t.Fatalf("session key: %d bytes, %v", len(key), err)
		}
		if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, fmt.Sprintf("%x", []byte(key))) {
			t.Fatalf("stored session key is not sealed: %q", sealed)
		}
		// A sealed key moved to another member's row does not open.
		other := w.login(t, "o-bob", "", community.LoginRequest{})
		if _, err := db.NewUpdate().Table("member_wechat_sessions").Set("session_key = ?", sealed).Where("member_id = ?", other.Member.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := w.members.SessionKey(ctx, other.Member.ID); err == nil {
			t.Fatal("a sealed key opened on another member's row")
		}
	})
}

func TestLoginRefusals(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		used := w.mp.MintLoginCode("o-carol", "")
		if _, err := w.members.Login(ctx, community.LoginRequest{Code: used}); err != nil {
			t.Fatal(err)
		}
		expired := w.mp.MintLoginCode("o-carol", "")
		for _, tc := range []struct {
			name   string
			code   string
			fault  *fault.Rule
			before func()
			want   error
			retry  bool
		}{
			{name: "used code", code: used, want: community.ErrCodeUsed},
			{name: "unknown code", code: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", want: community.ErrInvalidCode},
			{name: "empty code", code: " ", want: community.ErrInvalidCode},
			{name: "code smuggling a parameter", code: "abc&appid=wx0", want: community.ErrInvalidCode},
			{name: "expired code", code: expired, before: func() { w.clk.Advance(6 * time.Minute) }, want: community.ErrInvalidCode},
			{name: "WeChat minute quota", fault: &fault.Rule{Path: "jscode2session", Errcode: 45011, Errmsg: "api minute-quota reach limit"}, want: community.ErrWeChatRateLimited, retry: true},
			{name: "WeChat down", fault: &fault.Rule{Path: "jscode2session", Status: 503}, want: community.ErrWeChatUnavailable},
			{name: "WeChat busy", fault: &fault.Rule{Path: "jscode2session", Errcode: -1, Errmsg: "system error"}, want: community.ErrWeChatUnavailable},
			{name: "WeChat hangs", fault: &fault.Rule{Path: "jscode2session", Hang: true}, want: community.ErrWeChatUnavailable},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code := tc.code
				if code == "" {
					code = w.mp.MintLoginCode("o-dave", "")
				}
				if tc.before != nil {
					tc.before()
				}
				if tc.fault != nil {
					w.mp.Faults().Add(*tc.fault)
					defer w.mp.Faults().Clear()
				}
				members, sessions := count(t, db, "members"), count(t, db, "member_sessions")
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				_, err := w.members.Login(cctx, community.LoginRequest{Code: code, IP: "10.0.0.9"})
				if !errors.Is(err, tc.want) {
					t.Fatalf("err = %v, want %v", err, tc.want)
				}
				var ra interface{ RetryAfter() time.Duration }
				if got := errors.As(err, &ra) && ra.RetryAfter() > 0 && ra.RetryAfter() <= time.Minute; got != tc.retry {
					t.Fatalf("retry-after given = %v, want %v (%v)", got, tc.retry, err)
				}
				if strings.Contains(err.Error(), miniprogram.DefaultAppSecret) || (code != " " && strings.Contains(err.Error(), code)) {
					t.Fatalf("error leaks the secret or the code: %v", err)
				}
				if m, s := count(t, db, "members"), count(t, db, "member_sessions"); m != members || s != sessions {
					t.Fatalf("a refused login wrote members %d→%d, sessions %d→%d", members, m, sessions, s)
				}
			})
		}
		if _, err := w.members.ByOpenID(ctx, "o-dave"); !errors.Is(err, community.ErrMemberNotFound) {
			t.Fatalf("refused logins created the member: %v", err)
		}
	})
}

// eachRedis runs fn with miniredis and, when TEST_REDIS_URL is set, a real
// Redis server.
func eachRedis(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("miniredis", func(t *testing.T) { fn(t, "redis://"+miniredis.RunT(t).Addr()+"/0") })
	t.Run("redis", func(t *testing.T) { fn(t, testsupport.RealRedis(t)) })
}

func TestLoginLimits(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		eachRedis(t, func(t *testing.T, url string) {
			w := newWorld(t, db, url, func(c *community.MembersConfig) {
				c.Limits = community.LoginLimits{PerIP: 3, PerOpenID: 2, Window: time.Minute}
			})
			ctx := t.Context()
			try := func(openid, ip string) error {
				_, err := w.members.Login(ctx, community.LoginRequest{Code: w.mp.MintLoginCode(openid, ""), IP: ip})
				return err
			}
			// Per IP: the fourth login from one address in a minute.
			for i := range 3 {
				if err := try(fmt.Sprintf("o-ip-%d-%s", i, url[len(url)-2:]), "10.1.1.1"); err != nil {
					t.Fatal(err)
				}
			}
			err := try("o-ip-4", "10.1.1.1")
			var re *community.RetryError
			if !errors.Is(err, community.ErrLoginLimited) || !errors.As(err, &re) || re.RetryAfter() != 30*time.Second {
				t.Fatalf("fourth login from one IP: %v", err)
			}
			if err := try("o-ip-4", "10.1.1.2"); err != nil {
				t.Fatalf("another IP: %v", err)
			}
			// Per openid: the third login of one user, from any address.
			for i := range 2 {
				if err := try("o-busy", fmt.Sprintf("10.2.0.%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := try("o-busy", "10.2.0.9"); !errors.Is(err, community.ErrLoginLimited) {
				t.Fatalf("third login of one openid: %v", err)
			}
			w.clk.Advance(30 * time.Second)
			if err := try("o-busy", "10.2.0.9"); err != nil {
				t.Fatalf("next minute: %v", err)
			}
			if err := try("o-ip-5", "10.1.1.1"); err != nil {
				t.Fatalf("next minute, same IP: %v", err)
			}
		})
	})
}

func TestAttribution(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		inviter := w.login(t, "o-inviter", "", community.LoginRequest{})
		if !inviter.Member.FirstTouch.Empty() {
			t.Fatalf("organic first touch = %+v", inviter.Member.FirstTouch)
		}
		first := w.login(t, "o-guest", "", community.LoginRequest{Scene: 1007, Share: community.Share{
			Inviter: inviter.Member.ID, Show: "show-1", Group: "wrGroup1", Channel: "poster",
		}})
		ft := first.Member.FirstTouch
		if ft.Scene != 1007 || ft.InviterID != inviter.Member.ID || ft.ShowID != "show-1" || ft.GroupID != "wrGroup1" || ft.Channel != "poster" {
			t.Fatalf("first touch = %+v", ft)
		}
		// Later touches never change the first; implausible values, unknown
		// inviters and oneself as inviter are dropped.
		w.login(t, "o-guest", "", community.LoginRequest{Scene: 1008, Share: community.Share{Inviter: first.Member.ID, Show: "show-2"}})
		w.login(t, "o-guest", "", community.LoginRequest{Scene: 42, Share: community.Share{Inviter: "no-such-member", Show: "<script>", Channel: strings.Repeat("x", 65)}})
		w.login(t, "o-guest", "", community.LoginRequest{})
		m, err := w.members.Get(ctx, first.Member.ID)
		if err != nil || m.FirstTouch != ft {
			t.Fatalf("first touch changed to %+v, %v", m.FirstTouch, err)
		}
		touches, err := w.members.Touches(ctx, first.Member.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []community.Touch{
			{Scene: 1007, InviterID: inviter.Member.ID, ShowID: "show-1", GroupID: "wrGroup1", Channel: "poster"},
			{Scene: 1008, ShowID: "show-2"},
		}
		if len(touches) != len(want) {
			t.Fatalf("touches = %+v", touches)
		}
		for i := range want {
			touches[i].At = time.Time{}
			if touches[i] != want[i] {
				t.Fatalf("touch %d = %+v, want %+v", i, touches[i], want[i])
			}
		}
	})
}

// TestConcurrentFirstLogin: two first logins of one user at once make one
// member.
func TestConcurrentFirstLogin(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		codes := []string{w.mp.MintLoginCode("o-twice", ""), w.mp.MintLoginCode("o-twice", "")}
		logins := make([]community.Login, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				logins[i], errs[i] = w.members.Login(t.Context(), community.LoginRequest{Code: codes[i], Scene: 1047})
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		if logins[0].Member.ID != logins[1].Member.ID || logins[0].NewMember == logins[1].NewMember {
			t.Fatalf("logins = %+v / %+v", logins[0].Member, logins[1].Member)
		}
		if n := count(t, db, "members"); n != 1 {
			t.Fatalf("%d members", n)
		}
	})
}

func TestBindPhone(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		l := w.login(t, "o-phone", "", community.LoginRequest{})
		code, err := w.mp.MintPhoneCode("13800138000")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.members.BindPhone(ctx, "nobody", code); !errors.Is(err, community.ErrMemberNotFound) {
			t.Fatalf("unknown member: %v", err)
		}
		m, err := w.members.BindPhone(ctx, l.Member.ID, code)
		if err != nil {
			t.Fatalf("bind (the code must not have been spent on the unknown member): %v", err)
		}
		if m.Phone != "13800138000" || m.PhoneCountryCode != "86" || m.PhoneBoundAt == nil || m.MaskedPhone() != "138****8000" {
			t.Fatalf("member = %+v", m)
		}
		if _, err := w.members.BindPhone(ctx, l.Member.ID, code); !errors.Is(err, community.ErrInvalidPhoneCode) {
			t.Fatalf("reused code: %v", err)
		}
		// A foreign number replaces the first; the token expiring on
		// WeChat's side is handled by a fresh token.
		code, err = w.mp.MintPhoneCode("+44 7700900123")
		if err != nil {
			t.Fatal(err)
		}
		w.mp.Faults().Add(fault.Rule{Path: "getuserphonenumber", Errcode: 42001, Times: 1})
		m, err = w.members.BindPhone(ctx, l.Member.ID, code)
		if err != nil || m.Phone != "+447700900123" || m.PhoneCountryCode != "44" {
			t.Fatalf("foreign number = %+v, %v", m, err)
		}
		w.mp.Faults().Add(fault.Rule{Path: "getuserphonenumber", Status: 502, Times: 1})
		code, _ = w.mp.MintPhoneCode("13900139000")
		if _, err := w.members.BindPhone(ctx, l.Member.ID, code); !errors.Is(err, community.ErrWeChatUnavailable) {
			t.Fatalf("WeChat down: %v", err)
		}
		if m, _ := w.members.Get(ctx, l.Member.ID); m.Phone != "+447700900123" {
			t.Fatalf("a failed bind changed the phone to %q", m.Phone)
		}
	})
}

func TestSessions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		l := w.login(t, "o-session", "", community.LoginRequest{})
		for range 4 {
			w.clk.Advance(20 * 24 * time.Hour)
			if _, err := w.members.Authenticate(ctx, l.Token); err != nil {
				t.Fatalf("a session in use: %v", err)
			}
		}
		// 90 days and a second: past the maximum however much it was used.
		w.clk.Advance(10*24*time.Hour + time.Second)
		if _, err := w.members.Authenticate(ctx, l.Token); !errors.Is(err, community.ErrSessionExpired) {
			t.Fatalf("past max age: %v", err)
		}
		l = w.login(t, "o-session", "", community.LoginRequest{})
		w.clk.Advance(30*24*time.Hour - time.Second)
		if _, err := w.members.Authenticate(ctx, l.Token); err != nil {
			t.Fatalf("just before idle expiry: %v", err)
		}
		w.clk.Advance(30 * 24 * time.Hour)
		if _, err := w.members.Authenticate(ctx, l.Token); !errors.Is(err, community.ErrSessionExpired) {
			t.Fatalf("idle for 30 days: %v", err)
		}
		if _, err := w.members.Authenticate(ctx, l.Token); !errors.Is(err, community.ErrSessionNotFound) {
			t.Fatalf("an expired session is deleted: %v", err)
		}
		l = w.login(t, "o-session", "", community.LoginRequest{})
		if err := w.members.Logout(ctx, l.Token); err != nil {
			t.Fatal(err)
		}
		if _, err := w.members.Authenticate(ctx, l.Token); !errors.Is(err, community.ErrSessionNotFound) {
			t.Fatalf("after logout: %v", err)
		}
		if err := w.members.Logout(ctx, l.Token); !errors.Is(err, community.ErrSessionNotFound) {
			t.Fatalf("second logout: %v", err)
		}
		var hashes []string
		if err := db.NewSelect().Table("member_sessions").Column("token_hash").Scan(ctx, &hashes); err != nil {
			t.Fatal(err)
		}
		for _, h := range hashes {
			if strings.HasPrefix(h, "sym_") {
				t.Fatal("a token is stored in the clear")
			}
		}
	})
}

func TestUpdateProfile(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db, testsupport.Redis(t), nil)
		ctx := t.Context()
		l := w.login(t, "o-profile", "", community.LoginRequest{})
		str := func(s string) *string { return &s }
		for _, tc := range []struct {
			name string
			ch   community.ProfileChange
			nick string
			av   string
			err  error
		}{
			{"nickname", community.ProfileChange{Nickname: str("  小红  ")}, "小红", "", nil},
			{"avatar", community.ProfileChange{AvatarURL: str("https://cdn.example.com/a.png")}, "小红", "https://cdn.example.com/a.png", nil},
			{"nothing", community.ProfileChange{}, "小红", "https://cdn.example.com/a.png", nil},
			{"empty nickname", community.ProfileChange{Nickname: str(" ")}, "", "", community.ErrInvalidProfile},
			{"long nickname", community.ProfileChange{Nickname: str(strings.Repeat("长", 33))}, "", "", community.ErrInvalidProfile},
			{"control character", community.ProfileChange{Nickname: str("a\u0000b")}, "", "", community.ErrInvalidProfile},
			{"avatar not a URL", community.ProfileChange{AvatarURL: str("javascript:alert(1)")}, "", "", community.ErrInvalidProfile},
			{"avatar with user", community.ProfileChange{AvatarURL: str("https://u:p@cdn.example.com/a.png")}, "", "", community.ErrInvalidProfile},
			{"clear avatar", community.ProfileChange{AvatarURL: str("")}, "小红", "", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m, err := w.members.UpdateProfile(ctx, l.Member.ID, tc.ch)
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if err == nil && (m.Nickname != tc.nick || m.AvatarURL != tc.av) {
					t.Fatalf("member = %q %q", m.Nickname, m.AvatarURL)
				}
			})
		}
		if _, err := w.members.UpdateProfile(ctx, "nobody", community.ProfileChange{}); !errors.Is(err, community.ErrMemberNotFound) {
			t.Fatalf("unknown member: %v", err)
		}
	})
}

// TestSessionKeyDoesNotPrint: fmt, slog and encoding/json never show a
// SessionKey's bytes.
func TestSessionKeyDoesNotPrint(t *testing.T) {
	key := community.SessionKey("0123456789abcdef")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", key, "session", community.WeChatSession{OpenID: "o", SessionKey: key})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", key)
	j, _ := json.Marshal(community.WeChatSession{OpenID: "o", SessionKey: key})
	out := strings.Join([]string{
		fmt.Sprint(key), fmt.Sprintf("%v %s %x %q %#v %+v", key, key, key, key, key, community.WeChatSession{SessionKey: key}),
		logs.String(), string(j),
	}, "\n")
	for _, leak := range []string{"0123456789abcdef", "30313233", "[48 49 50"} {
		if strings.Contains(out, leak) {
			t.Fatalf("the key shows through:\n%s", out)
		}
	}
}
