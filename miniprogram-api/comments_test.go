package miniprogramapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// TestCommentsHTTP posts comments through the API: they are accepted
// pending (202) and, once a moderator has run, the visible ones are in
// the history.
func TestCommentsHTTP(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		s := newStudio(t, db)
		ctx := context.Background()
		show, err := s.svc.CreateShow(ctx, "admin", live.ShowInput{Title: "周末特卖", HostStaffID: "host", HostName: "小美",
			ScheduledAt: time.Now().Add(time.Hour), Mode: live.ModeWebRTC})
		if err != nil {
			t.Fatal(err)
		}
		base := "/mp/v1/shows/" + show.ID
		if a := s.do(t, "ann", http.MethodPost, base+"/comments", map[string]string{"text": "hi"}); a.status != 409 || a.code(t) != "show_not_live" {
			t.Fatalf("comment before live = %d %s", a.status, a.body)
		}
		if _, err := s.svc.StartShow(ctx, "host", show.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.PerformAction(ctx, "asst", show.ID, live.Action{Type: live.ActionMuteViewer, MemberID: "mia"}); err != nil {
			t.Fatal(err)
		}

		type accepted struct {
			ID, Text, Status string
			MemberID         string    `json:"member_id"`
			CreatedAt        time.Time `json:"created_at"`
		}
		var ann, bob accepted
		steps := []struct {
			name, member string
			body         any
			status       int
			code         string
			into         *accepted
		}{
			{"accepted", "ann", map[string]string{"text": " 这件有现货吗 "}, 202, "", &ann},
			{"again too soon", "ann", map[string]string{"text": "再问一次"}, 429, "comment_rate_limited", nil},
			{"accepted, hidden later", "bob", map[string]string{"text": "刷单的来"}, 202, "", &bob},
			{"empty", "cat", map[string]string{"text": "  "}, 400, "invalid_text", nil},
			{"not JSON", "cat", "{", 400, "invalid_json", nil},
			{"muted", "mia", map[string]string{"text": "我被禁言了"}, 403, "viewer_muted", nil},
			{"no session", "", map[string]string{"text": "匿名"}, 401, "unauthenticated", nil},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				a := s.do(t, st.member, http.MethodPost, base+"/comments", st.body)
				if a.status != st.status || (st.code != "" && a.code(t) != st.code) {
					t.Fatalf("%d %s, want %d %s", a.status, a.body, st.status, st.code)
				}
				if st.status == 429 && a.header.Get("Retry-After") == "" {
					t.Fatalf("no Retry-After: %v", a.header)
				}
				if st.into != nil {
					a.decode(t, st.into)
					if st.into.Status != "pending" || st.into.ID == "" || st.into.MemberID != st.member || st.into.CreatedAt.IsZero() {
						t.Fatalf("accepted = %s", a.body)
					}
				}
			})
		}
		if ann.Text != "这件有现货吗" {
			t.Fatalf("text = %q", ann.Text)
		}

		type history struct {
			Comments []struct{ ID, Text, Nickname string }
		}
		var hist history
		a := s.do(t, "dan", http.MethodGet, base+"/comments?limit=10", nil)
		a.decode(t, &hist)
		if a.status != 200 || len(hist.Comments) != 0 {
			t.Fatalf("history before moderation = %d %s", a.status, a.body)
		}
		mod := s.svc.ModerationWorker()
		for {
			n, err := mod.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		a = s.do(t, "dan", http.MethodGet, base+"/comments?limit=10", nil)
		a.decode(t, &hist)
		if a.status != 200 || len(hist.Comments) != 1 || hist.Comments[0].ID != ann.ID || hist.Comments[0].Text != ann.Text || hist.Comments[0].Nickname != "观众ann" {
			t.Fatalf("history = %d %s", a.status, a.body)
		}
		var risky live.Comment
		if err := db.NewSelect().Model(&risky).Where("id = ?", bob.ID).Scan(ctx); err != nil || risky.Status != live.CommentHidden {
			t.Fatalf("risky comment = %+v %v", risky, err)
		}
	})
}
