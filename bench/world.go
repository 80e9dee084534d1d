package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siyu-live/siyu/catalog"
)

// world is what the scenarios act on, made through Siyu's APIs on first
// use: a staff session, logged-in shoppers, live shows, a product.
type world struct {
	e        *env
	o        runOptions
	nMembers int
	nFanout  int

	console *apiClient
	staffID string
	members []shopper
	// shows are live shows; shows[0] is the main one (joins, likes, flash
	// sales), all of them take comments.
	shows []string
	sku   catalog.SKU

	// ceilingRate is the database ceiling's rate, to size the notification
	// scenario.
	ceilingRate float64

	// commentSeq counts the comments sent by earlier comment loads.
	commentSeq int64

	// prof profiles the server during measurements (-profile); current
	// names the scenario running.
	prof    *profiler
	current string

	// inTurns has siyuLoad measure in turns with /ping, whose result it
	// leaves in turnPing.
	inTurns  bool
	turnPing *result

	// derived rows other scenarios add (a second comparison of one
	// measurement).
	derived []row
}

// shopper is a logged-in member.
type shopper struct {
	ID     string
	OpenID string
	Token  string
	auth   []byte // "Bearer " + Token
}

func newWorld(e *env, o runOptions, members, fanout int) *world {
	return &world{e: e, o: o, nMembers: members, nFanout: fanout}
}

func (w *world) siyuBase() string { return "http://" + w.e.siyuAddr }

// ensureStaff creates an owner with `siyu staff create` and signs in
// through the console API.
func (w *world) ensureStaff(ctx context.Context) error {
	if w.console != nil {
		return nil
	}
	password := randomAlnum(24)
	pwFile := filepath.Join(w.e.dataDir, "owner-password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(w.e.root, "bin", "siyu"), "staff", "create", "--name", "bench-owner", "--role", "owner", "--password-file", pwFile)
	cmd.Env = w.e.siyuEnv("127.0.0.1:0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("siyu staff create: %w: %s", err, out)
	}
	c := newAPIClient(w.siyuBase(), "")
	var s struct {
		Staff struct {
			ID string `json:"id"`
		} `json:"staff"`
	}
	if err := c.call(ctx, "POST", "/console/api/v1/session", map[string]string{"name": "bench-owner", "password": password}, &s); err != nil {
		return err
	}
	w.console, w.staffID = c, s.Staff.ID
	return nil
}

// ensureMembers logs nMembers shoppers in through the API: the sandbox
// phone's wx.login (POST /sandbox/miniprogram/login-code), then POST
// /mp/v1/session. Siyu allows 60 logins a minute from one IP, so the
// logins come from many loopback addresses (127.0.0.0/8 is all local),
// 50 from each.
func (w *world) ensureMembers(ctx context.Context) error {
	if len(w.members) > 0 {
		return nil
	}
	out := make([]shopper, w.nMembers)
	phone := newAPIClient("http://"+w.e.wechat.addr, "")
	clients := map[int]*apiClient{}
	for i := 0; i*50 < w.nMembers; i++ {
		clients[i] = newAPIClient(w.siyuBase(), fmt.Sprintf("127.0.%d.%d", 1+(i/200), 10+i%200))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= w.nMembers {
					return
				}
				openid := fmt.Sprintf("o_bench_%06d_%s", i, randomAlnum(8))
				var code struct {
					Code string `json:"code"`
				}
				if err := phone.call(ctx, "POST", "/sandbox/miniprogram/login-code", map[string]string{"openid": openid}, &code); err != nil {
					errs <- err
					return
				}
				var s struct {
					Token  string `json:"token"`
					Member struct {
						ID string `json:"id"`
					} `json:"member"`
				}
				if err := clients[i/50].call(ctx, "POST", "/mp/v1/session", map[string]any{"code": code.Code, "scene": 1007}, &s); err != nil {
					errs <- err
					return
				}
				out[i] = shopper{ID: s.Member.ID, OpenID: openid, Token: s.Token, auth: []byte("Bearer " + s.Token)}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("log shoppers in: %w", err)
	}
	w.members = out
	return nil
}

// ensureShows schedules and starts n live shows through the console API.
func (w *world) ensureShows(ctx context.Context, n int) error {
	if err := w.ensureStaff(ctx); err != nil {
		return err
	}
	for len(w.shows) < n {
		var s struct {
			ID string `json:"id"`
		}
		if err := w.console.call(ctx, "POST", "/console/api/v1/shows", map[string]any{
			"title": fmt.Sprintf("压测直播 %d", len(w.shows)+1), "scheduled_at": time.Now().Add(time.Minute).UTC(),
			"host_staff_id": w.staffID, "host_name": "主播", "mode": "webrtc",
		}, &s); err != nil {
			return err
		}
		if err := w.console.call(ctx, "POST", "/console/api/v1/shows/"+s.ID+"/start", map[string]any{}, nil); err != nil {
			return err
		}
		w.shows = append(w.shows, s.ID)
	}
	return nil
}

// ensureProduct creates a published product with one SKU deep enough for
// every flash sale, in the main show's lineup.
func (w *world) ensureProduct(ctx context.Context) error {
	if w.sku.ID != "" {
		return nil
	}
	if err := w.ensureShows(ctx, 1); err != nil {
		return err
	}
	var p catalog.Product
	if err := w.console.call(ctx, "POST", "/console/api/v1/products", map[string]any{
		"title": "压测商品", "description": "benchmark", "images": []string{"https://example.com/p.jpg"},
		"skus": []map[string]any{{"title": "默认", "list_price": 9900, "stock": 10_000_000}},
	}, &p); err != nil {
		return err
	}
	if err := w.console.call(ctx, "POST", "/console/api/v1/products/"+p.ID+"/publish", map[string]any{}, nil); err != nil {
		return err
	}
	if err := w.console.call(ctx, "PUT", "/console/api/v1/shows/"+w.shows[0]+"/lineup", map[string]any{
		"items": []map[string]any{{"sku_id": p.SKUs[0].ID, "live_price": 1990}},
	}, nil); err != nil {
		return err
	}
	w.sku = p.SKUs[0]
	return nil
}

// createFlashSale creates a flash sale of the main show through the
// console API, open from now for an hour.
func (w *world) createFlashSale(ctx context.Context, quantity, limit int) (catalog.FlashSale, error) {
	if err := w.ensureProduct(ctx); err != nil {
		return catalog.FlashSale{}, err
	}
	var f catalog.FlashSale
	now := time.Now().UTC()
	err := w.console.call(ctx, "POST", "/console/api/v1/flash-sales", map[string]any{
		"show_id": w.shows[0], "sku_id": w.sku.ID, "price": 990, "quantity": quantity, "per_member_limit": limit,
		"starts_at": now.Add(-time.Second), "ends_at": now.Add(time.Hour),
	}, &f)
	return f, err
}
