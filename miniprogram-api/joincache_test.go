package miniprogramapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-live/siyu/live"
)

// TestJoinJSON checks that a join answer written from its parts is the
// JSON of joinBody, and that the parts a show's viewers share are encoded
// once, again only when they change.
func TestJoinJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := []live.Comment{{ID: "c1", MemberID: "m1", Nickname: "小红", Text: "好看<b>\"&\"</b>", CreatedAt: at}}
	second := []live.Comment{first[0], {ID: "c2", MemberID: "m2", Text: "多少钱?", CreatedAt: at.Add(time.Second)}}
	join := func(token, room, hls string, comments []live.Comment) live.Join {
		return live.Join{LiveKitURL: "wss://live.example.com", Token: token, Room: room, ExpiresAt: at.Add(10 * time.Minute),
			HLSURL: hls, RecentComments: comments}
	}
	var r joinJSON
	tests := []struct {
		name         string
		show         string
		join         live.Join
		sharedReused bool // the previous answer's shared bytes come back
		recentReused bool // the previous answer's comment bytes come back
	}{
		{"no comments", "s1", join("eyJ.a.b", "show-s1", "", nil), false, false},
		{"the same again", "s1", join("eyJ.c.d", "show-s1", "", nil), true, true},
		{"a first list is encoded", "s1", join("eyJ.e.f", "show-s1", "", first), true, false},
		{"the same list is not encoded again", "s1", join("eyJ.g.h", "show-s1", "", first), true, true},
		{"a new list of the show is encoded", "s1", join("eyJ.i.j", "show-s1", "", second), true, false},
		{"a new playlist is encoded", "s1", join("eyJ.k.l", "show-s1", "https://media.example.com/s1/live.m3u8", second), false, true},
		{"another show has its own", "s2", join("eyJ.m.n", "show-s2", "", second), false, false},
	}
	var prevShared, prevRecent []byte
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shared, recent, err := r.parts(tt.show, &tt.join)
			if err != nil {
				t.Fatal(err)
			}
			var b []byte
			b = appendJoinHead(b, &tt.join)
			b = append(b, shared...)
			b = append(b, recent...)
			b = append(b, '}')
			want, err := json.Marshal(joinBody{LiveKitURL: tt.join.LiveKitURL, Token: tt.join.Token, Room: tt.join.Room,
				ExpiresAt: tt.join.ExpiresAt, HLSURL: tt.join.HLSURL, RecentComments: commentsOut(tt.join.RecentComments)})
			if err != nil {
				t.Fatal(err)
			}
			var got, exp map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("answer %s: %v", b, err)
			}
			_ = json.Unmarshal(want, &exp)
			if !reflect.DeepEqual(got, exp) {
				t.Fatalf("answer\n%s\nwant\n%s", b, want)
			}
			same := func(a, b []byte) bool { return len(a) > 0 && len(b) > 0 && &a[0] == &b[0] }
			if got := same(prevShared, shared); got != tt.sharedReused {
				t.Fatalf("shared bytes reused: %v, want %v", got, tt.sharedReused)
			}
			if got := same(prevRecent, recent); got != tt.recentReused {
				t.Fatalf("comment bytes reused: %v, want %v", got, tt.recentReused)
			}
			prevShared, prevRecent = shared, recent
		})
	}
}
