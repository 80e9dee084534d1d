package miniprogramapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/siyu-live/siyu/live"
)

func TestRecentJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first := []live.Comment{{ID: "c1", MemberID: "m1", Nickname: "小红", Text: "好看", CreatedAt: at}}
	second := []live.Comment{first[0], {ID: "c2", MemberID: "m2", Text: "多少钱?", CreatedAt: at.Add(time.Second)}}
	want := func(cs []live.Comment) string {
		b, err := json.Marshal(commentsOut(cs))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var r recentJSON
	tests := []struct {
		name     string
		show     string
		comments []live.Comment
		want     string
		reused   bool // the previous answer's bytes come back
	}{
		{"none", "s1", nil, "[]", false},
		{"a first list is encoded", "s1", first, want(first), false},
		{"the same list again is not encoded again", "s1", first, want(first), true},
		{"a new list of the show is encoded", "s1", second, want(second), false},
		{"another show has its own", "s2", first, want(first), false},
	}
	var prev json.RawMessage
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.encode(tt.show, tt.comments)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("encode = %s, want %s", got, tt.want)
			}
			if reused := len(prev) > 0 && len(got) > 0 && &prev[0] == &got[0]; reused != tt.reused {
				t.Fatalf("reused the previous bytes: %v, want %v", reused, tt.reused)
			}
			prev = got
		})
	}
}
