package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// flashSales are the catalog's flash sales as the countdown sees them.
type flashSales map[string]live.FlashSale

func (f flashSales) FlashSale(_ context.Context, id string) (live.FlashSale, error) {
	fs, ok := f[id]
	if !ok {
		return live.FlashSale{}, live.ErrFlashSaleNotFound
	}
	return fs, nil
}

// couponDrops are the community's coupon drops as the room sees them.
type couponDrops map[string]live.CouponDrop

func (d couponDrops) CouponDrop(_ context.Context, showID, id string) (live.CouponDrop, error) {
	drop, ok := d[id]
	if !ok || drop.ShowID != showID {
		return live.CouponDrop{}, live.ErrCouponDropNotFound
	}
	return drop, nil
}

// auditLog collects audit entries.
type auditLog struct {
	mu      sync.Mutex
	entries []live.AuditEntry
}

func (a *auditLog) record(_ context.Context, _ bun.IDB, e live.AuditEntry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *auditLog) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Action)
	}
	return out
}

func TestControlActions(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		sales := flashSales{}
		drops := couponDrops{}
		audit := &auditLog{}
		h := newHarness(t, db, options{mutate: func(c *live.Config) {
			c.FlashSales = sales
			c.CouponDrops = drops
			c.Audit = audit.record
		}})
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		h.lineup[show.ID] = []live.LineupItem{
			{ProductID: "p-coat", SKUID: "s-coat-m", Title: "羊毛大衣", SKUTitle: "M", ListPrice: 99900, LivePrice: 69900},
			{ProductID: "p-coat", SKUID: "s-coat-l", Title: "羊毛大衣", SKUTitle: "L", ListPrice: 99900, LivePrice: 59900},
			{ProductID: "p-scarf", SKUID: "s-scarf", Title: "围巾", ListPrice: 19900, LivePrice: 9900},
		}
		now := time.Now().UTC()
		sales["fs-1"] = live.FlashSale{ID: "fs-1", ShowID: show.ID, ProductID: "p-scarf", SKUID: "s-scarf", Price: 4900, Quantity: 100,
			StartsAt: now.Add(10 * time.Second), EndsAt: now.Add(5 * time.Minute)}
		sales["fs-other"] = live.FlashSale{ID: "fs-other", ShowID: "another-show", StartsAt: now, EndsAt: now.Add(time.Hour)}
		drops["cd-1"] = live.CouponDrop{ID: "cd-1", ShowID: show.ID, Title: "满199减30", Quantity: 200, Remaining: 200, StartsAt: now, EndsAt: now.Add(time.Minute)}
		drops["cd-over"] = live.CouponDrop{ID: "cd-over", ShowID: show.ID, Title: "已结束", Quantity: 10, StartsAt: now.Add(-time.Hour), EndsAt: now.Add(-time.Minute)}
		drops["cd-other"] = live.CouponDrop{ID: "cd-other", ShowID: "another-show", EndsAt: now.Add(time.Hour)}

		viewer := "m-ctl-" + show.ID[len(show.ID)-6:]
		j, err := h.svc.Join(ctx, show.ID, viewer)
		if err != nil {
			t.Fatal(err)
		}
		_, got := connect(t, j.LiveKitURL, j.Token)
		h.members.add("m-ctl-writer")
		c, err := h.svc.PostComment(ctx, show.ID, "m-ctl-writer", "求链接")
		if err != nil {
			t.Fatal(err)
		}
		// Staff see (and delete) a comment once it is moderated and stored.
		if _, err := h.svc.PerformAction(ctx, "asst-1", show.ID, live.Action{Type: live.ActionDeleteComment, CommentID: c.ID}); !errors.Is(err, live.ErrCommentNotFound) {
			t.Fatalf("delete a pending comment: %v", err)
		}
		h.moderate(t)

		steps := []struct {
			name   string
			action live.Action
			err    error
			check  func(t *testing.T, s *live.Show)
		}{
			{"pin a product the show does not sell", live.Action{Type: live.ActionPinProduct, ProductID: "p-other"}, live.ErrProductNotInLineup, nil},
			{"pin without a product", live.Action{Type: live.ActionPinProduct}, live.ErrInvalid, nil},
			{"pin", live.Action{Type: live.ActionPinProduct, ProductID: "p-coat"}, nil, func(t *testing.T, s *live.Show) {
				if s.PinnedProductID != "p-coat" || s.PinnedAt == nil {
					t.Fatalf("pinned = %q", s.PinnedProductID)
				}
			}},
			{"flash sale of another show", live.Action{Type: live.ActionFlashSale, FlashSaleID: "fs-other"}, live.ErrFlashSaleNotFound, nil},
			{"flash sale that does not exist", live.Action{Type: live.ActionFlashSale, FlashSaleID: "fs-404"}, live.ErrFlashSaleNotFound, nil},
			{"flash sale countdown", live.Action{Type: live.ActionFlashSale, FlashSaleID: "fs-1"}, nil, nil},
			{"announcement", live.Action{Type: live.ActionPinAnnouncement, Text: "今晚8点抽奖"}, nil, func(t *testing.T, s *live.Show) {
				if s.Announcement != "今晚8点抽奖" {
					t.Fatalf("announcement = %q", s.Announcement)
				}
			}},
			{"empty announcement", live.Action{Type: live.ActionPinAnnouncement, Text: " "}, live.ErrInvalid, nil},
			{"delete a comment", live.Action{Type: live.ActionDeleteComment, CommentID: c.ID}, nil, nil},
			{"delete it again", live.Action{Type: live.ActionDeleteComment, CommentID: c.ID}, live.ErrCommentNotFound, nil},
			{"unpin", live.Action{Type: live.ActionUnpinProduct}, nil, func(t *testing.T, s *live.Show) {
				if s.PinnedProductID != "" {
					t.Fatalf("still pinned: %q", s.PinnedProductID)
				}
			}},
			{"unpin with nothing pinned", live.Action{Type: live.ActionUnpinProduct}, live.ErrInvalid, nil},
			{"unpin the announcement", live.Action{Type: live.ActionUnpinAnnouncement}, nil, nil},
			{"coupon drop without a drop", live.Action{Type: live.ActionDropCoupon}, live.ErrInvalid, nil},
			{"coupon drop of another show", live.Action{Type: live.ActionDropCoupon, DropID: "cd-other"}, live.ErrCouponDropNotFound, nil},
			{"coupon drop that is over", live.Action{Type: live.ActionDropCoupon, DropID: "cd-over"}, live.ErrInvalid, nil},
			{"coupon drop", live.Action{Type: live.ActionDropCoupon, DropID: "cd-1"}, nil, nil},
			{"an action that does not exist", live.Action{Type: "confetti"}, live.ErrUnknownAction, nil},
		}
		delivered := 0
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				res, err := h.svc.PerformAction(ctx, "asst-1", show.ID, st.action)
				if !errors.Is(err, st.err) {
					t.Fatalf("err = %v, want %v", err, st.err)
				}
				if err != nil {
					return
				}
				if !res.Delivered || res.Event.Actor != "staff:asst-1" {
					t.Fatalf("result = %+v", res)
				}
				delivered++
				if st.check != nil {
					st.check(t, h.show(t, show.ID))
				}
			})
		}
		eventually(t, 15*time.Second, "control messages", func() bool { return len(got.on(live.TopicControl)) == delivered })
		var msgs []map[string]any
		for _, p := range got.on(live.TopicControl) {
			var m map[string]any
			if err := json.Unmarshal(p.data, &m); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		want := []string{live.ActionPinProduct, live.ActionFlashSale, live.ActionPinAnnouncement, live.ActionDeleteComment, live.ActionUnpinProduct, live.ActionUnpinAnnouncement, live.ActionDropCoupon}
		for i, w := range want {
			if msgs[i]["type"] != w {
				t.Fatalf("message %d = %v, want %s", i, msgs[i], w)
			}
		}
		if msgs[0]["title"] != "羊毛大衣" || msgs[0]["live_price"] != float64(59900) {
			t.Fatalf("pin message = %v", msgs[0])
		}
		if cd, _ := msgs[1]["countdown_ms"].(float64); cd <= 0 || cd > 10000 || msgs[1]["price"] != float64(4900) {
			t.Fatalf("flash sale message = %v", msgs[1])
		}
		if msgs[6]["drop_id"] != "cd-1" || msgs[6]["remaining"] != float64(200) || msgs[6]["title"] != "满199减30" {
			t.Fatalf("coupon drop message = %v", msgs[6])
		}
		if hist, _ := h.svc.CommentHistory(ctx, show.ID, "", 10); len(hist) != 0 {
			t.Fatalf("deleted comment still in history: %+v", hist)
		}
		k := kinds(t, h, show.ID)
		for _, e := range []live.EventKind{live.EventProductPinned, live.EventFlashSale, live.EventAnnouncementPinned, live.EventCommentDeleted, live.EventProductUnpinned, live.EventAnnouncementUnpinned, live.EventCouponDropped} {
			if k[e] != 1 {
				t.Fatalf("timeline has %d %s", k[e], e)
			}
		}
		if a := audit.actions(); len(a) < delivered+2 || a[len(a)-1] != "show.action.drop_coupon" {
			t.Fatalf("audit = %v", a)
		}

		scheduled := h.schedule(t, live.ModeWebRTC)
		if _, err := h.svc.PerformAction(ctx, "asst-1", scheduled.ID, live.Action{Type: live.ActionPinProduct, ProductID: "p-coat"}); !errors.Is(err, live.ErrShowNotLive) {
			t.Fatalf("pin before live: %v", err)
		}
	})
}

func TestActionsWithoutCatalog(t *testing.T) {
	db := testsupport.DB(t, testsupport.SQLite)
	h := newHarness(t, db, options{mutate: func(c *live.Config) { c.Lineups = nil }})
	ctx := context.Background()
	show := h.goLive(t, live.ModeWebRTC)
	for _, a := range []live.Action{{Type: live.ActionPinProduct, ProductID: "p"}, {Type: live.ActionFlashSale, FlashSaleID: "f"}} {
		if _, err := h.svc.PerformAction(ctx, "host-1", show.ID, a); !errors.Is(err, live.ErrCatalogUnavailable) {
			t.Fatalf("%s without a catalog: %v", a.Type, err)
		}
	}
	if _, err := h.svc.Lineup(ctx, show.ID); !errors.Is(err, live.ErrCatalogUnavailable) {
		t.Fatalf("lineup without a catalog: %v", err)
	}
}
