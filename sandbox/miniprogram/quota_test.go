package miniprogram_test

import (
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/security"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// step is one call in a quota test: how far the clock moves before it, and
// the errcode it gets.
type step struct {
	wait time.Duration
	want int64
}

func TestQuotas(t *testing.T) {
	tests := []struct {
		name  string
		limit miniprogram.Limit
		calls []step
	}{
		{name: "per minute", limit: miniprogram.Limit{PerMinute: 2}, calls: []step{{0, 0}, {0, 0}, {0, 45011}, {time.Minute, 0}}},
		{name: "per day", limit: miniprogram.Limit{PerDay: 2}, calls: []step{{0, 0}, {30 * time.Minute, 0}, {30 * time.Minute, 45009}, {30 * time.Minute, 45009}}},
		{name: "rejected calls do not count", limit: miniprogram.Limit{PerMinute: 1, PerDay: 2}, calls: []step{{0, 0}, {0, 45011}, {0, 45011}, {time.Minute, 0}, {time.Minute, 45009}}},
		{name: "none", calls: []step{{0, 0}, {0, 0}, {0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, miniprogram.Config{Limits: map[string]miniprogram.Limit{"/wxa/msg_sec_check": tt.limit}})
			f.srv.MintLoginCode("o-chatter", "")
			for i, c := range tt.calls {
				f.clock.Advance(c.wait)
				_, err := f.mp.GetSecurity().MsgCheck(&security.MsgCheckRequest{OpenID: "o-chatter", Scene: 2, Content: "hi"})
				if got := errcode(t, err); got != c.want {
					t.Fatalf("call %d: errcode %d, want %d", i+1, got, c.want)
				}
			}
		})
	}
}

func TestDailyQuotaResetsAtChinaMidnight(t *testing.T) {
	f := newFixture(t, miniprogram.Config{Limits: map[string]miniprogram.Limit{"/wxa/msg_sec_check": {PerDay: 1}}})
	f.srv.MintLoginCode("o-chatter", "")
	check := func() int64 {
		_, err := f.mp.GetSecurity().MsgCheck(&security.MsgCheckRequest{OpenID: "o-chatter", Scene: 2, Content: "hi"})
		return errcode(t, err)
	}
	// 10:00 → 23:59 China time is the same day; 00:00 is the next.
	f.clock.Advance(13*time.Hour + 59*time.Minute)
	if got := check(); got != 0 {
		t.Fatalf("first call: %d", got)
	}
	if got := check(); got != 45009 {
		t.Fatalf("second call at 23:59: errcode %d, want 45009", got)
	}
	f.clock.Advance(time.Minute)
	if got := check(); got != 0 {
		t.Fatalf("first call after China midnight: errcode %d, want 0", got)
	}
}
