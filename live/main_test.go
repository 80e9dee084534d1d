package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/silenceper/wechat/v2/cache"
	wxmp "github.com/silenceper/wechat/v2/miniprogram"
	wxconfig "github.com/silenceper/wechat/v2/miniprogram/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/siyu-live/siyu/sandbox"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// platform is the sandbox mini-program every test of this binary talks to
// through the real silenceper client; wechat is that client.
var (
	platform *miniprogram.Server
	wechat   *wxmp.MiniProgram
)

func TestMain(m *testing.M) {
	var err error
	// WeChat allows msg_sec_check 4,000 times a minute per mini-program:
	// past that every comment fails closed (TestCommentModeration checks
	// 45011). The load test measures the fan-out, so its quota is lifted.
	limits := miniprogram.DefaultLimits()
	limits["/wxa/msg_sec_check"] = miniprogram.Limit{}
	platform, err = miniprogram.New(miniprogram.Config{Limits: limits})
	if err != nil {
		panic(err)
	}
	// silenceper uses one process-global client: it is routed to the
	// sandbox once, here.
	router := &sandbox.Router{}
	router.Handle("api.weixin.qq.com", platform)
	util.DefaultHTTPClient = &http.Client{Transport: router, Timeout: 10 * time.Second}
	set := platform.Settings()
	wechat = wxmp.NewMiniProgram(&wxconfig.Config{AppID: set[miniprogram.SettingAppID], AppSecret: set[miniprogram.SettingAppSecret], Cache: cache.NewMemory()})
	// silenceper's memory cache reads its map without its lock: fetch the
	// token once here, so concurrent calls only ever read it. (Siyu itself
	// replaces the SDK's token handle with accesstoken.Cache.)
	if _, err := wechat.GetContext().GetAccessToken(); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// directory is the member directory of a test: member id → openid and
// nickname, each openid known to the sandbox (as after wx.login).
type directory struct {
	mu sync.Mutex
	m  map[string]live.Member
}

func (d *directory) add(memberID string) string {
	openid := "o-" + memberID
	platform.MintLoginCode(openid, "")
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[memberID] = live.Member{OpenID: openid, Nickname: "观众" + memberID}
	return openid
}

func (d *directory) Member(_ context.Context, id string) (live.Member, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.m[id]
	if !ok {
		return live.Member{}, errors.New("no such member")
	}
	return m, nil
}

// ledgerNotifier is the adapter app wires between live and the consent
// ledger (app/live.go), repeated here because tests cannot import app.
type ledgerNotifier struct{ l *community.Consents }

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

// lineup is a show's lineup as the catalog would answer it.
type lineup map[string][]live.LineupItem

func (l lineup) LineupOf(_ context.Context, showID string) ([]live.LineupItem, error) {
	return l[showID], nil
}

func (l lineup) HasProduct(_ context.Context, showID, productID string) (bool, error) {
	for _, it := range l[showID] {
		if it.ProductID == productID {
			return true, nil
		}
	}
	return false, nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingRooms counts the chat sends of a Rooms and can fail them.
type countingRooms struct {
	live.Rooms
	mu    sync.Mutex
	sends map[string][]time.Time // topic → send times
	fail  bool
}

func (c *countingRooms) SendData(ctx context.Context, room, topic string, data []byte) error {
	c.mu.Lock()
	fail := c.fail
	if !fail {
		if c.sends == nil {
			c.sends = map[string][]time.Time{}
		}
		c.sends[topic] = append(c.sends[topic], time.Now())
	}
	c.mu.Unlock()
	if fail {
		return live.ErrLiveKitUnavailable
	}
	return c.Rooms.SendData(ctx, room, topic, data)
}

func (c *countingRooms) count(topic string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sends[topic])
}

func (c *countingRooms) times(topic string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.sends[topic]...)
}

// harness is a Service on a real database, Redis and LiveKit server.
type harness struct {
	svc     *live.Service
	db      *bun.DB
	redis   *redis.Client
	lk      *testsupport.LiveKit
	kit     *live.LiveKit
	rooms   *countingRooms
	members *directory
	ledger  *community.Consents
	lineup  lineup
	mod     *live.ModerationWorker
}

type options struct {
	lk     *testsupport.LiveKit
	mutate func(*live.Config)
}

func newHarness(t *testing.T, db *bun.DB, o options) *harness {
	t.Helper()
	lk := o.lk
	if lk == nil {
		lk = testsupport.StartLiveKit(t, testsupport.LiveKitOptions{})
	}
	ropt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { rdb.Close() })
	kit := live.NewLiveKit(lk.HTTPURL, lk.APIKey, lk.APISecret)
	h := &harness{db: db, redis: rdb, lk: lk, kit: kit, rooms: &countingRooms{Rooms: kit}, members: &directory{m: map[string]live.Member{}}, lineup: lineup{}}
	h.ledger, err = community.NewConsents(community.ConsentsConfig{DB: db, Sender: community.NewWeChatSubscribe(wechat.GetSubscribe(), "", nil)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := live.Config{
		DB: db, Redis: rdb, Rooms: h.rooms, Recorder: kit, Ingresses: kit,
		LiveKitURL: lk.URL, APIKey: lk.APIKey, APISecret: lk.APISecret,
		Lineups: h.lineup, Members: h.members, Moderator: live.NewWeChatCheck(wechat.GetSecurity(), nil),
		Consents: h.ledger, Notifier: ledgerNotifier{h.ledger},
		MediaBaseURL: "https://media.example.com/",
		ReminderTemplate: live.NoticeTemplate{ID: miniprogram.TemplateLiveStart, Keywords: map[string]string{
			"thing1": "{title}", "time2": "{start}", "thing3": "直播即将开始", "thing4": "点击进入直播间"}},
		ReplayTemplate: live.NoticeTemplate{ID: miniprogram.TemplateReplayReady, Keywords: map[string]string{
			"thing1": "{title}", "time2": "{start}", "thing3": "回放已生成，点击观看"}},
	}
	if o.mutate != nil {
		o.mutate(&cfg)
	}
	h.svc, err = live.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// schedule creates a show an hour ahead with host "host-1" and assistant
// "asst-1".
func (h *harness) schedule(t *testing.T, mode live.Mode) *live.Show {
	t.Helper()
	show, err := h.svc.CreateShow(context.Background(), "admin-1", live.ShowInput{
		Title: "春季新品发布会", ScheduledAt: time.Now().Add(time.Hour), HostStaffID: "host-1",
		AssistantIDs: []string{"asst-1"}, Mode: mode,
	})
	if err != nil {
		t.Fatal(err)
	}
	return show
}

// goLive schedules a show and starts it.
func (h *harness) goLive(t *testing.T, mode live.Mode) *live.Show {
	t.Helper()
	show := h.schedule(t, mode)
	show, err := h.svc.StartShow(context.Background(), "host-1", show.ID)
	if err != nil {
		t.Fatal(err)
	}
	return show
}

func (h *harness) show(t *testing.T, id string) *live.Show {
	t.Helper()
	s, err := h.svc.Show(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// outboxRows returns the outbox messages of a task type, oldest first.
func outboxRows(t *testing.T, db bun.IDB, taskType string) []struct {
	ID      string
	Payload string
} {
	t.Helper()
	var rows []struct {
		ID      string
		Payload string
	}
	if err := db.NewSelect().Table("outbox").Column("id", "payload").Where("task_type = ?", taskType).OrderExpr("created_at, id").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

func decode[T any](t *testing.T, payload string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(payload), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// moderate runs moderation passes until no comment waits, as a worker's
// moderator would, and answers how many comments it finished.
func (h *harness) moderate(t *testing.T) int {
	t.Helper()
	if h.mod == nil {
		h.mod = h.svc.ModerationWorker()
	}
	total := 0
	for {
		n, err := h.mod.Pass(context.Background())
		if err != nil {
			t.Fatalf("moderation pass: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
}

// stored returns a comment as stored, or fails.
func (h *harness) stored(t *testing.T, id string) live.Comment {
	t.Helper()
	var c live.Comment
	if err := h.db.NewSelect().Model(&c).Where("id = ?", id).Scan(context.Background()); err != nil {
		t.Fatalf("comment %s: %v", id, err)
	}
	return c
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
