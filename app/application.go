package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/siyu-live/siyu/analytics"
	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/console"
	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/jobs"
	"github.com/siyu-live/siyu/live"
	miniprogramapi "github.com/siyu-live/siyu/miniprogram-api"
	"github.com/siyu-live/siyu/outbox"
	"github.com/siyu-live/siyu/staff"
)

// application is Siyu wired together: every service built by hand from the
// configuration and the stores, once, for the HTTP API and the worker alike.
type application struct {
	cfg   Config
	log   *slog.Logger
	st    *stores
	reg   *prometheus.Registry
	doc   *edge.Doc
	queue *asynq.Client
	relay *outbox.Relay
	rooms *lksdk.RoomServiceClient

	// --- identity ---
	wechat  *wechatClients
	members *community.Members
	staff   *staff.Service

	// --- payments ---
	commerce *commerce

	// --- live ---
	live     *live.Service
	consents *community.Consents

	// --- community ---
	community *communityArea

	// --- analytics ---
	analytics *analytics.Service
}

// openApplication opens the stores of cfg, checks that the database is
// migrated (or, with migrate, migrates it) and wires the application: what
// every command running Siyu's services does first. release releases the
// application and then its stores.
func openApplication(ctx context.Context, cfg Config, log *slog.Logger, migrate bool) (a *application, release func(), err error) {
	st, err := openStores(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if err := requireMigrated(ctx, st.db, migrate, log); err != nil {
		st.Close()
		return nil, nil, err
	}
	if a, err = newApplication(cfg, log, st); err != nil {
		st.Close()
		return nil, nil, err
	}
	return a, func() { a.Close(); st.Close() }, nil
}

func newApplication(cfg Config, log *slog.Logger, st *stores) (*application, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &application{
		cfg:   cfg,
		log:   log,
		st:    st,
		reg:   reg,
		doc:   edge.NewDoc("Siyu API", buildVersion(), "The shopper API (/mp/v1) and the staff API (/console/api/v1) of Siyu."),
		queue: asynq.NewClient(st.redisOpt),
		rooms: lksdk.NewRoomServiceClient(httpURL(cfg.LiveKitURL), cfg.LiveKitAPIKey, cfg.LiveKitAPISecret),
	}
	a.relay = outbox.NewRelay(st.db, jobs.NewEnqueuer(a.queue), log, time.Second, reg)
	// --- identity ---
	if err := a.buildIdentity(); err != nil {
		a.Close()
		return nil, err
	}
	// --- payments ---
	// After identity (openids, first touch); shows are looked up lazily.
	if err := a.buildCatalog(); err != nil {
		a.Close()
		return nil, err
	}
	// --- live ---
	if err := a.buildLive(); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.buildPayments(context.Background()); err != nil {
		a.Close()
		return nil, err
	}
	// --- community ---
	if err := a.buildCommunity(); err != nil {
		a.Close()
		return nil, err
	}
	// --- analytics ---
	if err := a.buildAnalytics(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close releases what the application opened (the stores belong to the caller).
func (a *application) Close() {
	a.queue.Close()
	// --- identity ---
	if a.wechat != nil {
		a.wechat.Close()
	}
	// --- payments ---
	a.closeCommerce()
}

// checks are what /readyz asks about.
func (a *application) checks() []edge.Check {
	return []edge.Check{
		{Name: "database", Fn: func(ctx context.Context) error { return a.st.db.PingContext(ctx) }},
		{Name: "redis", Fn: func(ctx context.Context) error { return a.st.redis.Ping(ctx).Err() }},
		{Name: "livekit", Fn: func(ctx context.Context) error {
			_, err := a.rooms.ListRooms(ctx, &livekit.ListRoomsRequest{})
			return err
		}},
	}
}

// httpApp builds the fiber app with every route.
func (a *application) httpApp() (*fiber.App, error) {
	app := edge.New(edge.Config{
		BodyLimit:     a.cfg.BodyLimit,
		ReadTimeout:   a.cfg.ReadTimeout,
		WriteTimeout:  a.cfg.WriteTimeout,
		ConsoleOrigin: a.cfg.ConsoleOrigin,
		Logger:        a.log,
		Registry:      a.reg,
	})
	edge.MountOps(app, a.checks(), a.reg)
	app.Get("/openapi.json", a.doc.Serve)
	mp := miniprogramapi.New(miniprogramapi.Config{
		Logger: a.log,
		// --- identity ---
		Sessions: a.members,
		Members:  a.members,
		// A live show's shoppers send several requests a second each; their
		// sessions are looked up once per 30 to 60 seconds, not per request.
		// At 10 seconds, 2,000 shoppers cost PostgreSQL about 400 reads a
		// second and 8–12% of a core (make bench); a logout on another
		// replica takes effect here within the minute.
		SessionCacheTTL: time.Minute,
		// --- payments ---
		Orders:     a.commerce.payments,
		FlashSales: a.commerce.catalog,
		// --- live ---
		Shows: a.live,
		// --- community ---
		Coupons: a.community.coupons,
		// --- analytics ---
		Clicks: a.analytics,
	})
	if err := mp.Mount(app, a.doc); err != nil {
		return nil, err
	}
	staffAPI := console.New(console.Config{
		Logger: a.log,
		// --- identity ---
		Sessions:      staffSessions{a.staff},
		SignIns:       a.staff,
		StaffAccounts: a.staff,
		Audit:         a.staff,
		SecureCookie:  a.cfg.PublicURL.Scheme == "https",
		// --- payments ---
		Catalog:          a.commerce.catalog,
		FlashSaleJournal: a.commerce.journal,
		Payments:         a.commerce.payments,
		// --- live ---
		Shows: a.live,
		// --- community ---
		Members:   memberProfiles{a.community},
		Tags:      a.community.segments,
		Segments:  a.community.segments,
		Coupons:   a.community.coupons,
		Campaigns: a.community.campaigns,
		WeCom:     a.community.wecom,
		// --- analytics ---
		Analytics:  a.analytics,
		WebStorage: a.webStorage(),
	})
	if err := staffAPI.Mount(app, a.doc); err != nil {
		return nil, err
	}
	// --- identity ---
	a.wechat.mountSandbox(app)
	// --- payments ---
	a.mountPayCallbacks(app)
	// --- live ---
	a.mountLiveCallbacks(app)
	// --- community ---
	a.mountCommunityCallbacks(app)
	// --- analytics ---
	if err := staffAPI.MountWeb(app); err != nil {
		return nil, err
	}
	return app, nil
}

// worker builds the asynq server with every task handler.
func (a *application) worker() (*asynq.Server, *asynq.ServeMux) {
	srv, mux := jobs.NewServer(a.st.redisOpt, jobs.ServerConfig{
		Concurrency:     a.cfg.WorkerConcurrency,
		ShutdownTimeout: a.cfg.ShutdownTimeout,
		Logger:          a.log,
		Registry:        a.reg,
	})
	// --- payments ---
	a.handleCommerceTasks(mux)
	// --- live ---
	a.handleLiveTasks(mux)
	// --- community ---
	a.handleCommunityTasks(mux)
	// --- analytics ---
	a.handleAnalyticsTasks(mux)
	// --- housekeeping ---
	a.handlePruneTasks(mux)
	return srv, mux
}

// schedules registers every periodic task on s.
func (a *application) schedules(s *asynq.Scheduler) error {
	// --- payments ---
	if err := a.scheduleCommerce(s); err != nil {
		return err
	}
	// --- live ---
	if err := a.scheduleLive(s); err != nil {
		return err
	}
	// --- community ---
	if err := a.scheduleCommunity(s); err != nil {
		return err
	}
	// --- analytics ---
	if err := a.scheduleAnalytics(s); err != nil {
		return err
	}
	// --- housekeeping ---
	return a.schedulePrune(s)
}

// runWorker runs the job worker and the outbox relay until ctx is done.
func (a *application) runWorker(ctx context.Context) error {
	srv, mux := a.worker()
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// Every worker runs the scheduler; each periodic task is unique while
	// enqueued, so replicas do not multiply the work.
	sched := asynq.NewScheduler(a.st.redisOpt, &asynq.SchedulerOpts{Location: time.UTC, Logger: jobs.Logger(a.log)})
	if err := a.schedules(sched); err != nil {
		srv.Shutdown()
		return fmt.Errorf("schedule periodic tasks: %w", err)
	}
	if err := sched.Start(); err != nil {
		srv.Shutdown()
		return fmt.Errorf("start scheduler: %w", err)
	}
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		a.relay.Run(ctx)
	}()
	// --- live ---
	broadcastDone := make(chan struct{})
	go func() {
		defer close(broadcastDone)
		a.runBroadcaster(ctx)
	}()
	a.log.Info("worker started", "concurrency", a.cfg.WorkerConcurrency)
	<-ctx.Done()
	// Shutdown waits up to ShutdownTimeout for running jobs; unfinished ones
	// go back to the queue and run again (handlers are idempotent).
	sched.Shutdown()
	srv.Shutdown()
	<-relayDone
	<-broadcastDone
	a.log.Info("worker stopped")
	return nil
}

// httpURL turns a ws(s):// LiveKit URL into the http(s):// URL its API uses.
func httpURL(u string) string {
	switch {
	case strings.HasPrefix(u, "ws://"):
		return "http://" + strings.TrimPrefix(u, "ws://")
	case strings.HasPrefix(u, "wss://"):
		return "https://" + strings.TrimPrefix(u, "wss://")
	}
	return u
}
