package miniprogram

import (
	"strconv"
	"time"
)

// chinaTime is the zone the platform's daily quotas reset in (China has no
// daylight saving time, so a fixed zone is exact).
var chinaTime = time.FixedZone("CST", 8*60*60)

// dayOf names the calendar day of t in China time.
func dayOf(t time.Time) string { return t.In(chinaTime).Format("2006-01-02") }

// minuteOf names the calendar minute of t; the platform's minute quotas say
// "retry next minute", so they count per calendar minute.
func minuteOf(t time.Time) string { return strconv.FormatInt(t.Unix()/60, 10) }

// tally counts events in the current window (a day or a minute) and forgets
// them when the window changes.
type tally struct {
	window string
	n      int
}

// full reports whether max events already happened in window; max <= 0
// means unlimited.
func (t *tally) full(window string, max int) bool {
	if t.window != window {
		return false
	}
	return max > 0 && t.n >= max
}

// add counts one event in window.
func (t *tally) add(window string) {
	if t.window != window {
		t.window, t.n = window, 0
	}
	t.n++
}

// usage is one API's calls in the current minute and day.
type usage struct {
	minute tally
	day    tally
}

// takeQuota counts one call of the API at path against its Limit, or answers
// 45009 (daily quota) or 45011 (minute quota) without counting it. The
// caller holds s.mu.
func (s *Server) takeQuota(path string, now time.Time) *wechatError {
	limit := s.cfg.Limits[path]
	u := s.usage[path]
	if u == nil {
		u = &usage{}
		s.usage[path] = u
	}
	day, minute := dayOf(now), minuteOf(now)
	if u.day.full(day, limit.PerDay) {
		return errDailyQuota
	}
	if u.minute.full(minute, limit.PerMinute) {
		return errMinuteQuota
	}
	u.day.add(day)
	u.minute.add(minute)
	return nil
}
