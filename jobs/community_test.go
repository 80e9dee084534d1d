package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/outbox"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// sandboxSubscribe sends subscribe messages to the sandbox mini-program's
// API in this process: the request and answer are the platform's, with no
// network in between.
type sandboxSubscribe struct {
	mp    *miniprogram.Server
	once  sync.Once
	token string
	err   error
}

func (s *sandboxSubscribe) call(path string, body any) (map[string]any, error) {
	var rd *bytes.Reader
	method := http.MethodGet
	if body != nil {
		b, _ := json.Marshal(body)
		rd, method = bytes.NewReader(b), http.MethodPost
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	rec := httptest.NewRecorder()
	s.mp.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("%s answered %q", path, rec.Body.String())
	}
	return out, nil
}

func (s *sandboxSubscribe) SendSubscribe(ctx context.Context, m community.SubscribeMessage) error {
	s.once.Do(func() {
		st := s.mp.Settings()
		q := url.Values{"grant_type": {"client_credential"}, "appid": {st[miniprogram.SettingAppID]}, "secret": {st[miniprogram.SettingAppSecret]}}
		out, err := s.call("/cgi-bin/token?"+q.Encode(), nil)
		if err != nil {
			s.err = err
			return
		}
		s.token, _ = out["access_token"].(string)
	})
	if s.err != nil {
		return s.err
	}
	data := map[string]map[string]string{}
	for k, v := range m.Data {
		data[k] = map[string]string{"value": v}
	}
	out, err := s.call("/cgi-bin/message/subscribe/send?access_token="+s.token,
		map[string]any{"touser": m.OpenID, "template_id": m.TemplateID, "page": m.Page, "data": data})
	if err != nil {
		return err
	}
	if code, _ := out["errcode"].(float64); code != 0 {
		msg, _ := out["errmsg"].(string)
		return &community.SendError{Code: int64(code), Msg: msg}
	}
	return nil
}

// seedMembers adds n members with bulk inserts; every second one has a
// consent for template (on WeChat and in the ledger). It returns the
// openids that consented.
func seedMembers(t *testing.T, db *bun.DB, mp *miniprogram.Server, n int, template string, at time.Time) map[string]bool {
	t.Helper()
	ctx := context.Background()
	consenting := map[string]bool{}
	const batch = 1000
	for start := 0; start < n; start += batch {
		var members, consents []any
		var mq, cq bytes.Buffer
		for i := start; i < min(start+batch, n); i++ {
			id := fmt.Sprintf("m%06d", i+1)
			if mq.Len() > 0 {
				mq.WriteString(",")
			}
			mq.WriteString("(?, ?, ?, ?)")
			members = append(members, id, "o-"+id, at, at)
			if i%2 == 0 {
				continue
			}
			consenting["o-"+id] = true
			if err := mp.GrantSubscribe("o-"+id, template, 1); err != nil {
				t.Fatal(err)
			}
			if cq.Len() > 0 {
				cq.WriteString(",")
			}
			cq.WriteString("(?, ?, 1, FALSE, 1, 0, ?)")
			consents = append(consents, id, template, at)
		}
		if _, err := db.NewRaw("INSERT INTO members (id, openid, created_at, updated_at) VALUES "+mq.String(), members...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if len(consents) > 0 {
			if _, err := db.NewRaw("INSERT INTO subscribe_consents (member_id, template_id, remaining, long_term, granted, used, updated_at) VALUES "+cq.String(), consents...).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	return consenting
}

// worker is one asynq worker process running the community tasks; kill
// cancels every task it is running, as the process dying would stop them
// between two sends.
type worker struct {
	srv    *asynq.Server
	kill   context.CancelFunc
	active sync.WaitGroup
}

func startWorker(t *testing.T, redisURL string, svc jobs.CommunityTasks, log *slog.Logger) *worker {
	t.Helper()
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	w := &worker{}
	killCtx, kill := context.WithCancel(context.Background())
	w.kill = kill
	srv, mux := jobs.NewServer(opt, jobs.ServerConfig{Concurrency: 4, ShutdownTimeout: 5 * time.Second, Logger: log})
	mux.Use(func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
			w.active.Add(1)
			defer w.active.Done()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(killCtx, cancel)
			defer stop()
			return next.ProcessTask(ctx, task)
		})
	})
	jobs.HandleCommunity(mux, svc)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	w.srv = srv
	return w
}

// TestCampaignToOneHundredThousandMembers is the campaign engine's
// acceptance: a campaign to a segment of 100,000 members against the
// sandbox, with the worker killed in the middle and started again. Every
// member with a consent gets exactly one message, the others are skipped
// and counted, the progress adds up, and the segment's preview count is
// what the campaign targeted.
func TestCampaignToOneHundredThousandMembers(t *testing.T) {
	const members = acceptanceMembers
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		redisURL := testsupport.Redis(t)
		ropt, err := redis.ParseURL(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(ropt)
		t.Cleanup(func() { rdb.Close() })
		mp, err := miniprogram.New(miniprogram.Config{})
		if err != nil {
			t.Fatal(err)
		}
		tpl := miniprogram.TemplateCouponDue
		start := time.Now()
		consenting := seedMembers(t, db, mp, members, tpl, time.Now().Add(-time.Hour))
		t.Logf("seeded %d members (%d consenting) in %s", members, len(consenting), time.Since(start).Round(time.Millisecond))

		sender := &sandboxSubscribe{mp: mp}
		ledger, err := community.NewConsents(community.ConsentsConfig{DB: db, Sender: sender, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		seg, _ := community.NewSegments(community.SegmentsConfig{DB: db, Logger: log})
		cpn, _ := community.NewCoupons(community.CouponsConfig{DB: db, Redis: rdb, Logger: log})
		camps, err := community.NewCampaigns(community.CampaignsConfig{DB: db, Redis: rdb, Segments: seg, Coupons: cpn, Ledger: ledger,
			SubscribeRate: community.Rate{PerSecond: 1_000_000, Burst: 5000}, Senders: 16, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		svc := jobs.CommunityTasks{Campaigns: camps, Coupons: cpn, Tags: seg}

		rule := `{"joined_within":{"days":1}}`
		preview, err := seg.PreviewRule(ctx, []byte(rule))
		if err != nil || preview.Count != members {
			t.Fatalf("preview = %d, %v", preview.Count, err)
		}
		s, err := seg.CreateSegment(ctx, "staff", community.SegmentInput{Name: "everyone new", Rule: []byte(rule)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := camps.CreateCampaign(ctx, "staff", community.CampaignInput{Name: "coupon reminder", SegmentID: s.ID, Schedule: community.ScheduleNow,
			Actions: community.CampaignActions{Subscribe: &community.SubscribeAction{TemplateID: tpl, Page: "pages/coupons/index",
				Data: map[string]string{"thing1": "你的优惠券快到期了", "amount2": "¥20", "date3": "2026-06-30", "thing4": "点击使用"}}}})
		if err != nil {
			t.Fatal(err)
		}

		aopt, _ := asynq.ParseRedisURI(redisURL)
		client := asynq.NewClient(aopt)
		defer client.Close()
		relayCtx, stopRelay := context.WithCancel(ctx)
		defer stopRelay()
		relay := outbox.NewRelay(db, jobs.NewEnqueuer(client), log, 50*time.Millisecond, nil)
		go relay.Run(relayCtx)

		// Worker A runs until a third of the messages are out, then dies.
		start = time.Now()
		a := startWorker(t, redisURL, svc, log)
		waitFor(t, 5*time.Minute, func() bool { return sentCount(mp) >= len(consenting)/3 })
		a.kill()
		a.active.Wait()
		a.srv.Shutdown()
		mid, _ := camps.Campaign(ctx, c.ID)
		t.Logf("worker killed after %s with %d messages sent; run %+v", time.Since(start).Round(time.Millisecond), len(mp.SentSubscribeMessages()), mid.LastRun.Channels)
		if mid.LastRun.Status != community.CampaignRunning || len(mp.SentSubscribeMessages()) >= len(consenting) {
			t.Fatalf("the worker was killed after the run ended: %+v", mid.LastRun)
		}

		// The killed task waits for asynq's retry back-off; worker B takes
		// it at once.
		insp := asynq.NewInspector(aopt)
		defer insp.Close()
		for _, q := range []string{"default", "critical", "low"} {
			retry, _ := insp.ListRetryTasks(q)
			for _, ti := range retry {
				if err := insp.RunTask(q, ti.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		b := startWorker(t, redisURL, svc, log)
		defer b.srv.Shutdown()
		waitFor(t, 10*time.Minute, func() bool {
			var status string
			_ = db.NewRaw("SELECT status FROM campaigns WHERE id = ?", c.ID).Scan(ctx, &status)
			return status == community.CampaignCompleted
		})
		done, err := camps.Campaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("campaign completed %s after the restart", time.Since(start).Round(time.Millisecond))

		got := map[string]int{}
		for _, m := range mp.SentSubscribeMessages() {
			got[m.ToUser]++
		}
		for openid := range consenting {
			if got[openid] != 1 {
				t.Fatalf("%s got %d messages", openid, got[openid])
			}
		}
		if len(got) != len(consenting) {
			t.Fatalf("%d members got messages; %d consented", len(got), len(consenting))
		}
		p := *done.LastRun
		sub := p.Channels[community.ChannelSubscribe]
		if p.Targeted != preview.Count || sub.Targeted != members {
			t.Fatalf("targeted %d (channel %d); the preview counted %d", p.Targeted, sub.Targeted, preview.Count)
		}
		if sub.Sent != len(consenting) || sub.Skipped != members-len(consenting) || sub.Reasons["no_consent"] != sub.Skipped ||
			sub.Failed != 0 || sub.Pending != 0 || sub.Sent+sub.Skipped+sub.Failed+sub.Pending != sub.Targeted {
			t.Fatalf("progress = %+v", sub)
		}
	})
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not done within %s", limit)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sentCount is how many subscribe messages the sandbox accepted: the sum
// of what its consents lost.
func sentCount(mp *miniprogram.Server) int {
	n := 0
	for _, c := range mp.Consents() {
		if c.Remaining == 0 && c.Accepted {
			n++
		}
	}
	return n
}
