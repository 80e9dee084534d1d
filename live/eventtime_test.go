package live

import (
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
)

// TestEventTimes: an event is dated by its arrival within the second
// LiveKit stamped it, by its stamp otherwise; a leave that arrives late is
// dated at the end of its second, so it never precedes a join in that
// second.
func TestEventTimes(t *testing.T) {
	stamp := time.Date(2026, 12, 3, 10, 0, 7, 0, time.UTC)
	for _, tc := range []struct {
		name             string
		created          int64
		received         time.Time
		wantAt, wantLeft time.Time
	}{
		{"within its second", stamp.Unix(), stamp.Add(420 * time.Millisecond), stamp.Add(420 * time.Millisecond), stamp.Add(420 * time.Millisecond)},
		{"at its second's start", stamp.Unix(), stamp, stamp, stamp},
		{"after its second", stamp.Unix(), stamp.Add(1300 * time.Millisecond), stamp, stamp.Add(999 * time.Millisecond)},
		{"a retry minutes later", stamp.Unix(), stamp.Add(3 * time.Minute), stamp, stamp.Add(999 * time.Millisecond)},
		{"before its stamp (clock skew)", stamp.Unix(), stamp.Add(-200 * time.Millisecond), stamp, stamp},
		{"no stamp", 0, stamp.Add(5 * time.Millisecond), stamp.Add(5 * time.Millisecond), stamp.Add(5 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := &livekit.WebhookEvent{Id: "EV_1", Event: "participant_left", CreatedAt: tc.created}
			if got := eventTime(ev, tc.received); !got.Equal(tc.wantAt) {
				t.Errorf("eventTime = %s, want %s", got, tc.wantAt)
			}
			if got := leaveTime(ev, tc.received); !got.Equal(tc.wantLeft) {
				t.Errorf("leaveTime = %s, want %s", got, tc.wantLeft)
			}
		})
	}
}
