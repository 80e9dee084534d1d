package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// Action is a staff control action during a show. Type selects what it
// does; the other fields are its arguments.
type Action struct {
	Type        string
	ProductID   string
	FlashSaleID string
	Text        string
	MemberID    string
	CommentID   string
	DropID      string
}

// The control action types.
const (
	ActionPinProduct        = "pin_product"
	ActionUnpinProduct      = "unpin_product"
	ActionFlashSale         = "flash_sale"
	ActionPinAnnouncement   = "pin_announcement"
	ActionUnpinAnnouncement = "unpin_announcement"
	ActionMuteViewer        = "mute_viewer"
	ActionUnmuteViewer      = "unmute_viewer"
	ActionRemoveViewer      = "remove_viewer"
	ActionDeleteComment     = "delete_comment"
	ActionDropCoupon        = "drop_coupon"
)

// ActionResult is a performed action: its timeline stamp and whether its
// broadcast reached the room.
type ActionResult struct {
	Event     TimelineEvent
	Delivered bool
}

// actionSpec is how one action type works. Adding an action (a coupon
// drop, say) is adding one spec.
type actionSpec struct {
	// states the show must be in.
	states []Status
	kind   EventKind
	// prepare checks the arguments, outside the transaction (it may ask
	// the catalog), and returns the details stamped and broadcast.
	prepare func(ctx context.Context, s *Service, show *Show, a Action) (map[string]any, error)
	// apply changes state in the transaction, under the show's lock.
	apply func(ctx context.Context, tx bun.Tx, show *Show, a Action, staffID string, now time.Time) error
	// after runs once committed (LiveKit calls).
	after func(ctx context.Context, s *Service, show *Show, a Action) error
}

var liveOnly = []Status{StatusLive}

// actions lists every control action.
var actions = map[string]actionSpec{
	ActionPinProduct: {
		states: liveOnly, kind: EventProductPinned,
		prepare: preparePin,
		apply: func(ctx context.Context, tx bun.Tx, show *Show, a Action, _ string, now time.Time) error {
			show.PinnedProductID, show.PinnedAt = a.ProductID, &now
			return updateShow(ctx, tx, show, now, "pinned_product_id", "pinned_at")
		},
	},
	ActionUnpinProduct: {
		states: liveOnly, kind: EventProductUnpinned,
		prepare: func(_ context.Context, _ *Service, show *Show, _ Action) (map[string]any, error) {
			if show.PinnedProductID == "" {
				return nil, invalid("product_id", "no product is pinned")
			}
			return map[string]any{"product_id": show.PinnedProductID}, nil
		},
		apply: func(ctx context.Context, tx bun.Tx, show *Show, _ Action, _ string, now time.Time) error {
			show.PinnedProductID, show.PinnedAt = "", nil
			return updateShow(ctx, tx, show, now, "pinned_product_id", "pinned_at")
		},
	},
	ActionFlashSale: {
		states: liveOnly, kind: EventFlashSale,
		prepare: prepareFlashSale,
	},
	ActionDropCoupon: {
		states: liveOnly, kind: EventCouponDropped,
		prepare: prepareCouponDrop,
	},
	ActionPinAnnouncement: {
		states: liveOnly, kind: EventAnnouncementPinned,
		prepare: func(_ context.Context, _ *Service, _ *Show, a Action) (map[string]any, error) {
			text := strings.TrimSpace(a.Text)
			switch {
			case text == "":
				return nil, invalid("text", "is empty")
			case utf8.RuneCountInString(text) > 200:
				return nil, invalid("text", "is longer than 200 characters")
			}
			return map[string]any{"text": text}, nil
		},
		apply: func(ctx context.Context, tx bun.Tx, show *Show, a Action, _ string, now time.Time) error {
			show.Announcement = strings.TrimSpace(a.Text)
			return updateShow(ctx, tx, show, now, "announcement")
		},
	},
	ActionUnpinAnnouncement: {
		states: liveOnly, kind: EventAnnouncementUnpinned,
		prepare: func(context.Context, *Service, *Show, Action) (map[string]any, error) { return map[string]any{}, nil },
		apply: func(ctx context.Context, tx bun.Tx, show *Show, _ Action, _ string, now time.Time) error {
			show.Announcement = ""
			return updateShow(ctx, tx, show, now, "announcement")
		},
	},
	ActionMuteViewer: {
		states: []Status{StatusScheduled, StatusLive}, kind: EventViewerMuted,
		prepare: prepareMember,
		apply:   addBan(BanMuted),
	},
	ActionUnmuteViewer: {
		states: []Status{StatusScheduled, StatusLive}, kind: EventViewerUnmuted,
		prepare: prepareMember,
		apply: func(ctx context.Context, tx bun.Tx, show *Show, a Action, _ string, _ time.Time) error {
			_, err := tx.NewDelete().Model((*Ban)(nil)).Where("show_id = ? AND member_id = ? AND kind = ?", show.ID, a.MemberID, BanMuted).Exec(ctx)
			return err
		},
	},
	ActionRemoveViewer: {
		states: []Status{StatusScheduled, StatusLive}, kind: EventViewerRemoved,
		prepare: prepareMember,
		apply:   addBan(BanRemoved),
		after: func(ctx context.Context, s *Service, show *Show, a Action) error {
			if show.Status != StatusLive {
				return nil
			}
			return s.cfg.Rooms.RemoveParticipant(ctx, show.RoomName, a.MemberID)
		},
	},
	ActionDeleteComment: {
		states: []Status{StatusLive, StatusEnded, StatusReplayReady}, kind: EventCommentDeleted,
		prepare: func(_ context.Context, _ *Service, _ *Show, a Action) (map[string]any, error) {
			if a.CommentID == "" {
				return nil, invalid("comment_id", "is required")
			}
			return map[string]any{"comment_id": a.CommentID}, nil
		},
		apply: func(ctx context.Context, tx bun.Tx, show *Show, a Action, _ string, _ time.Time) error {
			res, err := tx.NewUpdate().Model((*Comment)(nil)).Set("status = ?", CommentDeleted).
				Where("id = ? AND show_id = ? AND status <> ?", a.CommentID, show.ID, CommentDeleted).Exec(ctx)
			if err != nil {
				return fmt.Errorf("delete comment: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrCommentNotFound
			}
			return nil
		},
	},
}

// ActionTypes lists the control actions Siyu knows.
func ActionTypes() []string {
	out := make([]string, 0, len(actions))
	for k := range actions {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// PerformAction carries out a control action: it is checked, applied and
// stamped on the timeline in one transaction under the show's lock, then
// broadcast to the room on the control topic. A broadcast that fails does
// not undo the action (the state is in the show); Delivered says whether
// it reached the room.
func (s *Service) PerformAction(ctx context.Context, staffID, showID string, a Action) (ActionResult, error) {
	spec, ok := actions[a.Type]
	if !ok {
		return ActionResult{}, fmt.Errorf("%w: %q (known: %s)", ErrUnknownAction, a.Type, strings.Join(ActionTypes(), ", "))
	}
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return ActionResult{}, err
	}
	if !slices.Contains(spec.states, show.Status) {
		return ActionResult{}, fmt.Errorf("%w: %s needs a show that is %v, this one is %s", ErrShowNotLive, a.Type, spec.states, show.Status)
	}
	details, err := spec.prepare(ctx, s, show, a)
	if err != nil {
		return ActionResult{}, err
	}
	now := s.now()
	var ev TimelineEvent
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		locked, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if !slices.Contains(spec.states, locked.Status) {
			return fmt.Errorf("%w: the show became %s", ErrShowNotLive, locked.Status)
		}
		show = locked
		if spec.apply != nil {
			if err := spec.apply(ctx, tx, show, a, staffID, now); err != nil {
				return err
			}
		}
		data, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("encode action: %w", err)
		}
		ev = TimelineEvent{ID: newID(), ShowID: show.ID, Kind: spec.kind, Actor: staffActor(staffID), At: now, Data: data}
		if _, err := tx.NewInsert().Model(&ev).Exec(ctx); err != nil {
			return fmt.Errorf("stamp %s on the timeline: %w", spec.kind, err)
		}
		return s.audit(ctx, tx, showAudit(staffID, "show.action."+a.Type, show.ID, details))
	})
	if err != nil {
		return ActionResult{}, err
	}
	s.forget(showID)
	res := ActionResult{Event: ev}
	if spec.after != nil {
		if err := spec.after(ctx, s, show, a); err != nil {
			s.log.Warn("control action follow-up failed", "show", showID, "action", a.Type, "err", err)
		}
	}
	if show.Status == StatusLive {
		msg := map[string]any{"type": a.Type, "event_id": ev.ID, "at": now}
		for k, v := range details {
			msg[k] = v
		}
		data, err := json.Marshal(msg)
		if err != nil {
			return res, fmt.Errorf("encode broadcast: %w", err)
		}
		if err := s.cfg.Rooms.SendData(ctx, show.RoomName, TopicControl, data); err != nil {
			s.log.Warn("control broadcast failed", "show", showID, "action", a.Type, "err", err)
		} else {
			res.Delivered = true
		}
	}
	return res, nil
}

func updateShow(ctx context.Context, tx bun.IDB, show *Show, now time.Time, cols ...string) error {
	show.UpdatedAt = now
	if _, err := tx.NewUpdate().Model(show).Column(append(cols, "updated_at")...).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update show: %w", err)
	}
	return nil
}

func preparePin(ctx context.Context, s *Service, show *Show, a Action) (map[string]any, error) {
	if a.ProductID == "" {
		return nil, invalid("product_id", "is required")
	}
	if s.cfg.Lineups == nil {
		return nil, ErrCatalogUnavailable
	}
	ok, err := s.cfg.Lineups.HasProduct(ctx, show.ID, a.ProductID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrProductNotInLineup
	}
	items, err := s.cfg.Lineups.LineupOf(ctx, show.ID)
	if err != nil {
		return nil, err
	}
	details := map[string]any{"product_id": a.ProductID}
	var skus []LineupItem
	for _, it := range items {
		if it.ProductID == a.ProductID {
			skus = append(skus, it)
		}
	}
	if len(skus) > 0 {
		lowest := slices.MinFunc(skus, func(x, y LineupItem) int { return int(x.LivePrice - y.LivePrice) })
		details["title"], details["image"], details["live_price"], details["list_price"] = lowest.Title, lowest.Image, lowest.LivePrice, lowest.ListPrice
		details["skus"] = skus
	}
	return details, nil
}

func prepareFlashSale(ctx context.Context, s *Service, show *Show, a Action) (map[string]any, error) {
	if a.FlashSaleID == "" {
		return nil, invalid("flash_sale_id", "is required")
	}
	if s.cfg.FlashSales == nil {
		return nil, ErrCatalogUnavailable
	}
	fs, err := s.cfg.FlashSales.FlashSale(ctx, a.FlashSaleID)
	if err != nil {
		return nil, err
	}
	if fs.ShowID != show.ID {
		return nil, ErrFlashSaleNotFound
	}
	now := s.now()
	if !fs.EndsAt.After(now) {
		return nil, invalid("flash_sale_id", "the flash sale is over")
	}
	countdown := max(fs.StartsAt.Sub(now), 0)
	return map[string]any{
		"flash_sale_id": fs.ID, "product_id": fs.ProductID, "sku_id": fs.SKUID, "price": fs.Price,
		"quantity": fs.Quantity, "starts_at": fs.StartsAt.UTC(), "ends_at": fs.EndsAt.UTC(),
		"countdown_ms": countdown.Milliseconds(),
	}, nil
}

func prepareMember(_ context.Context, _ *Service, _ *Show, a Action) (map[string]any, error) {
	if a.MemberID == "" {
		return nil, invalid("member_id", "is required")
	}
	if strings.HasPrefix(a.MemberID, "staff:") || strings.HasPrefix(a.MemberID, "ingress:") {
		return nil, invalid("member_id", "is not a viewer")
	}
	return map[string]any{"member_id": a.MemberID}, nil
}

func addBan(kind string) func(ctx context.Context, tx bun.Tx, show *Show, a Action, staffID string, now time.Time) error {
	return func(ctx context.Context, tx bun.Tx, show *Show, a Action, staffID string, now time.Time) error {
		b := &Ban{ShowID: show.ID, MemberID: a.MemberID, Kind: kind, ByStaffID: staffID, CreatedAt: now}
		if _, err := tx.NewInsert().Model(b).On("CONFLICT (show_id, member_id, kind) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("record %s viewer: %w", kind, err)
		}
		return nil
	}
}
