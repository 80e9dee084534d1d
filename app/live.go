package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/staff"
)

// LiveConfig is the live area's settings.
type LiveConfig struct {
	MediaBaseURL      string
	ViewerTokenTTL    time.Duration
	MaxParticipants   int
	EmptyTimeout      time.Duration
	CommentInterval   time.Duration
	Tick              time.Duration
	LikeFlush         time.Duration
	ReminderLead      time.Duration
	ReplayWatchBelow  time.Duration
	ReminderTemplate  live.NoticeTemplate
	ReplayTemplate    live.NoticeTemplate
	LongTermTemplates []string
	MiniProgramState  string
}

// loadLiveConfig reads the live settings from v. With a sandbox the
// notices default to the sandbox mini-program's templates.
func loadLiveConfig(v map[string]string, sandbox bool) (LiveConfig, error) {
	var c LiveConfig
	var err error
	c.MediaBaseURL = v["LIVE_MEDIA_BASE_URL"]
	if c.MediaBaseURL != "" {
		if u, err := url.Parse(c.MediaBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &ConfigError{"LIVE_MEDIA_BASE_URL", fmt.Sprintf("must be an absolute http(s) URL, not %q", c.MediaBaseURL)}
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"LIVE_VIEWER_TOKEN_TTL", &c.ViewerTokenTTL}, {"LIVE_EMPTY_TIMEOUT", &c.EmptyTimeout},
		{"LIVE_COMMENT_INTERVAL", &c.CommentInterval}, {"LIVE_BROADCAST_TICK", &c.Tick}, {"LIVE_LIKE_FLUSH", &c.LikeFlush},
		{"LIVE_REMINDER_LEAD", &c.ReminderLead}, {"LIVE_REPLAY_WATCH_BELOW", &c.ReplayWatchBelow},
	} {
		if *d.dst, err = duration(v, d.name); err != nil {
			return c, err
		}
	}
	if c.ViewerTokenTTL > live.MaxViewerTokenTTL {
		return c, &ConfigError{"LIVE_VIEWER_TOKEN_TTL", "must be at most 15m"}
	}
	if c.Tick < 250*time.Millisecond {
		return c, &ConfigError{"LIVE_BROADCAST_TICK", "must be at least 250ms (4 chat messages a second per room)"}
	}
	if c.LikeFlush > c.Tick {
		return c, &ConfigError{"LIVE_LIKE_FLUSH", "must be at most LIVE_BROADCAST_TICK: likes go out with the chat batches"}
	}
	if c.MaxParticipants, err = positiveInt(v, "LIVE_MAX_PARTICIPANTS"); err != nil {
		return c, err
	}
	if c.ReminderTemplate, err = parseNoticeTemplate("LIVE_REMINDER_TEMPLATE", v["LIVE_REMINDER_TEMPLATE"]); err != nil {
		return c, err
	}
	if c.ReplayTemplate, err = parseNoticeTemplate("LIVE_REPLAY_TEMPLATE", v["LIVE_REPLAY_TEMPLATE"]); err != nil {
		return c, err
	}
	if sandbox {
		// The sandbox mini-program's templates and their keywords.
		if c.ReminderTemplate.ID == "" {
			c.ReminderTemplate = live.NoticeTemplate{ID: miniprogram.TemplateLiveStart, Keywords: map[string]string{
				"thing1": "{title}", "time2": "{start}", "thing3": "直播即将开始", "thing4": "点击进入直播间"}}
		}
		if c.ReplayTemplate.ID == "" {
			c.ReplayTemplate = live.NoticeTemplate{ID: miniprogram.TemplateReplayReady, Keywords: map[string]string{
				"thing1": "{title}", "time2": "{start}", "thing3": "回放已生成，点击观看"}}
		}
	}
	for _, id := range strings.Split(v["WECHAT_SUBSCRIBE_LONG_TERM"], ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.LongTermTemplates = append(c.LongTermTemplates, id)
		}
	}
	c.MiniProgramState = v["WECHAT_MINIPROGRAM_STATE"]
	if !slices.Contains([]string{"developer", "trial", "formal"}, c.MiniProgramState) {
		return c, &ConfigError{"WECHAT_MINIPROGRAM_STATE", fmt.Sprintf("must be developer, trial or formal, not %q", c.MiniProgramState)}
	}
	return c, nil
}

// parseNoticeTemplate reads "TEMPLATE_ID|keyword=text|…".
func parseNoticeTemplate(name, raw string) (live.NoticeTemplate, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return live.NoticeTemplate{}, nil
	}
	parts := strings.Split(raw, "|")
	t := live.NoticeTemplate{ID: strings.TrimSpace(parts[0]), Keywords: map[string]string{}}
	if t.ID == "" || len(parts) < 2 {
		return t, &ConfigError{name, "must be TEMPLATE_ID|keyword=text|… (at least one keyword)"}
	}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return t, &ConfigError{name, "keyword " + strconv.Quote(p) + " is not keyword=text"}
		}
		t.Keywords[k] = val
	}
	return t, nil
}

// buildLive builds the consent ledger and the live service: LiveKit through
// its SDK clients, WeChat's content check and subscribe messages through
// the shared mini-program client, lineups and flash sales from the catalog
// (when it is built), members from identity, and the staff audit log.
func (a *application) buildLive() error {
	lc := a.cfg.Live
	var err error
	a.consents, err = community.NewConsents(community.ConsentsConfig{
		DB:                a.st.db,
		Sender:            community.NewWeChatSubscribe(a.wechat.mp.GetSubscribe(), lc.MiniProgramState, a.wechat.mpTokens),
		LongTermTemplates: lc.LongTermTemplates,
		Logger:            a.log,
	})
	if err != nil {
		return err
	}
	kit := live.NewLiveKit(a.cfg.LiveKitURL, a.cfg.LiveKitAPIKey, a.cfg.LiveKitAPISecret)
	a.live, err = live.New(live.Config{
		DB: a.st.db, Redis: a.st.redis,
		Rooms: kit, Recorder: kit, Ingresses: kit,
		LiveKitURL: a.cfg.LiveKitURL, APIKey: a.cfg.LiveKitAPIKey, APISecret: a.cfg.LiveKitAPISecret,
		Lineups: lazyCatalog{a}, FlashSales: lazyCatalog{a}, CouponDrops: lazyCouponDrops{a},
		Members:   liveMembers{a.members},
		Moderator: live.NewWeChatCheck(a.wechat.mp.GetSecurity(), a.wechat.mpTokens),
		Consents:  a.consents,
		Notifier:  ledgerNotifier{a.consents},
		Audit:     auditStaff,
		Logger:    a.log,

		ViewerTokenTTL: lc.ViewerTokenTTL, MaxParticipants: lc.MaxParticipants, EmptyTimeout: lc.EmptyTimeout,
		CommentInterval: lc.CommentInterval, Tick: lc.Tick, LikeFlush: lc.LikeFlush, ReminderLead: lc.ReminderLead,
		ReplayWatchBelow: lc.ReplayWatchBelow, MediaBaseURL: lc.MediaBaseURL,
		ReminderTemplate: lc.ReminderTemplate, ReplayTemplate: lc.ReplayTemplate,
	})
	return err
}

// mountLiveCallbacks serves LiveKit's webhooks: the SDK verifies a
// net/http request, so the handler is adapted, not rewritten.
func (a *application) mountLiveCallbacks(app *fiber.App) {
	app.Post("/callbacks/livekit", edge.HTTPHandler(a.live.WebhookHandler(), 30*time.Second))
}

// handleLiveTasks adds the live task handlers.
func (a *application) handleLiveTasks(mux *asynq.ServeMux) {
	jobs.HandleLive(mux, a.live)
}

// scheduleLive registers the periodic live tasks.
func (a *application) scheduleLive(s *asynq.Scheduler) error {
	return jobs.RegisterSchedules(s, jobs.LiveSchedules())
}

// runBroadcaster sends the rooms' chat batches, and runs a moderator for
// the comments the API accepted, until ctx is done. Every worker runs
// both: the per-room booking in Redis keeps a room at one send a tick
// however many run, and the moderators share the rooms' ingest streams
// in one consumer group. The moderator finishes the comments it holds
// before this returns.
func (a *application) runBroadcaster(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.live.ModerationWorker().Run(ctx)
	}()
	a.live.Broadcaster().Run(ctx)
	<-done
}

// runLikeFlusher adds the likes this process takes to Redis every
// LIVE_LIKE_FLUSH until ctx is done, then flushes what is left. Every
// process serving the shopper API runs one.
func (a *application) runLikeFlusher(ctx context.Context) {
	a.live.LikeFlusher().Run(ctx)
}

// lazyCatalog is the catalog as shows see it, looked up when used, so the
// order in which the areas are built does not matter; without a catalog
// shows have no lineup.
type lazyCatalog struct{ a *application }

func (l lazyCatalog) catalog() (catalogForLive, error) {
	if l.a.commerce == nil || l.a.commerce.catalog == nil {
		return catalogForLive{}, live.ErrCatalogUnavailable
	}
	return catalogForLive{l.a.commerce.catalog}, nil
}

// LineupOf implements live.Lineups.
func (l lazyCatalog) LineupOf(ctx context.Context, showID string) ([]live.LineupItem, error) {
	c, err := l.catalog()
	if err != nil {
		return nil, err
	}
	return c.LineupOf(ctx, showID)
}

// HasProduct implements live.Lineups.
func (l lazyCatalog) HasProduct(ctx context.Context, showID, productID string) (bool, error) {
	c, err := l.catalog()
	if err != nil {
		return false, err
	}
	return c.HasProduct(ctx, showID, productID)
}

// FlashSale implements live.FlashSales.
func (l lazyCatalog) FlashSale(ctx context.Context, id string) (live.FlashSale, error) {
	c, err := l.catalog()
	if err != nil {
		return live.FlashSale{}, err
	}
	return c.FlashSale(ctx, id)
}

// liveMembers is the live area's view of shoppers.
type liveMembers struct{ m *community.Members }

// Member implements live.Members.
func (d liveMembers) Member(ctx context.Context, id string) (live.Member, error) {
	m, err := d.m.Get(ctx, id)
	if err != nil {
		return live.Member{}, err
	}
	return live.Member{OpenID: m.OpenID, Nickname: m.Nickname}, nil
}

// Members implements live.BatchMembers: a moderator looks a batch of
// comments' authors up in one query.
func (d liveMembers) Members(ctx context.Context, ids []string) (map[string]live.Member, error) {
	ms, err := d.m.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]live.Member, len(ms))
	for id, m := range ms {
		out[id] = live.Member{OpenID: m.OpenID, Nickname: m.Nickname}
	}
	return out, nil
}

// ledgerNotifier sends the live area's notices through the consent
// ledger.
type ledgerNotifier struct{ l *community.Consents }

// Notify implements live.Notifier.
func (n ledgerNotifier) Notify(ctx context.Context, no live.Notice) (live.NoticeOutcome, error) {
	st, err := n.l.Send(ctx, community.SendRequest{Key: no.Key, MemberID: no.MemberID,
		Message: community.SubscribeMessage{OpenID: no.OpenID, TemplateID: no.TemplateID, Page: no.Page, Data: no.Data}})
	switch {
	case errors.Is(err, community.ErrNoConsent):
		return live.NoticeNoConsent, nil
	case err != nil:
		return "", err
	}
	return live.NoticeOutcome(st), nil
}

// auditStaff records the live area's staff actions in the staff audit log.
func auditStaff(ctx context.Context, db bun.IDB, e live.AuditEntry) error {
	return staff.Record(ctx, db, staff.Entry{StaffID: e.StaffID, Action: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, Detail: e.Detail})
}

// demoShowTitle names the demo show seed schedules.
const demoShowTitle = "演示直播：春季新品"

// seedShow schedules the demo show, hosted by the demo owner, tomorrow at
// 20:00 China time, unless one is already scheduled.
func (a *application) seedShow(ctx context.Context, out io.Writer) error {
	owner, err := a.staff.ByName(ctx, demoOwner)
	if err != nil {
		return err
	}
	shows, err := a.live.ListShows(ctx, live.ShowFilter{Statuses: []live.Status{live.StatusScheduled}, Limit: 100})
	if err != nil {
		return err
	}
	for _, s := range shows {
		if s.Title == demoShowTitle {
			fmt.Fprintf(out, "demo show exists: %s at %s\n", s.ID, s.ScheduledAt.Format(time.RFC3339))
			return nil
		}
	}
	cst := time.FixedZone("CST", 8*60*60)
	tomorrow := time.Now().In(cst).AddDate(0, 0, 1)
	at := time.Date(tomorrow.Year(), tomorrow.Month(), tomorrow.Day(), 20, 0, 0, 0, cst)
	s, err := a.live.CreateShow(ctx, owner.ID, live.ShowInput{Title: demoShowTitle, ScheduledAt: at, HostStaffID: owner.ID, HostName: "小美", Mode: live.ModeWebRTC})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "demo show created: %s at %s, hosted by %q\n", s.ID, s.ScheduledAt.Format(time.RFC3339), demoOwner)
	return nil
}

// lazyCouponDrops are the community's coupon drops as the room announces
// them, looked up when used like lazyCatalog.
type lazyCouponDrops struct{ a *application }

// CouponDrop implements live.CouponDrops.
func (l lazyCouponDrops) CouponDrop(ctx context.Context, showID, dropID string) (live.CouponDrop, error) {
	if l.a.community == nil || l.a.community.coupons == nil {
		return live.CouponDrop{}, live.ErrCouponsUnavailable
	}
	d, err := l.a.community.coupons.Drop(ctx, showID, dropID)
	if errors.Is(err, community.ErrDropNotFound) {
		return live.CouponDrop{}, fmt.Errorf("%w: %w", live.ErrCouponDropNotFound, err)
	}
	if err != nil {
		return live.CouponDrop{}, err
	}
	return live.CouponDrop{
		ID: d.ID, ShowID: d.ShowID, Title: d.Template.Name, Quantity: d.Quantity, Remaining: d.Remaining,
		StartsAt: d.StartsAt, EndsAt: d.EndsAt,
	}, nil
}
