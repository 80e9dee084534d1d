package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// saleBody is the body of every flash-sale purchase: one unit.
var saleBody, _ = json.Marshal(map[string]any{"quantity": 1, "address": address})

// buyer sends flash-sale purchases of sale, each from the next shopper.
func (w *world) buyer(sale string) request {
	path := "/mp/v1/flash-sales/" + sale + "/orders"
	var next atomic.Int64
	return func(_, _ int, req *fasthttp.Request) bool {
		m := w.members[next.Add(1)%int64(len(w.members))]
		req.Header.SetMethod("POST")
		req.SetRequestURI(path)
		req.Header.SetContentType("application/json")
		req.Header.SetBytesV("Authorization", m.auth)
		req.SetBody(saleBody)
		return true
	}
}

// flashSaleWin measures the winning path: a sale of a million units with
// a limit no shopper reaches, so every purchase wins, each answered with
// its pending order and no payment parameters. Meanwhile it samples the
// journal's backlog (claims won and not yet stored). After the load it
// waits until every win is an order, checks that Redis, the database and
// the answers agree, and pays one win through POST /orders/{id}/pay.
func flashSaleWin(ctx context.Context, w *world) (result, error) {
	if err := w.ensureMembers(ctx); err != nil {
		return result{}, err
	}
	const quantity, limit = 1_000_000, 1_000_000
	sale, err := w.createFlashSale(ctx, quantity, limit)
	if err != nil {
		return result{}, err
	}
	var won atomic.Int64
	var first atomic.Pointer[[]byte]
	backlog := w.sampleBacklog(ctx, sale.ID)
	res, err := w.siyuLoad(ctx, w.buyer(sale.ID), func(status int, body []byte) error {
		if status != 201 {
			return fmt.Errorf("%d %.300s", status, body)
		}
		if bytes.Contains(body, []byte(`"pay":`)) || !bytes.Contains(body, []byte(`"status":"pending"`)) {
			return fmt.Errorf("a win answered %.300s", body)
		}
		if won.Add(1) == 1 {
			b := bytes.Clone(body)
			first.Store(&b)
		}
		return nil
	})
	most := backlog()
	if err != nil {
		return res, err
	}
	if res.Rate > 0 {
		res.Checks = append(res.Checks, fmt.Sprintf("journal backlog during the load: at most %d claims (%.2f s of wins)", most, float64(most)/res.Rate))
	}
	check, err := w.checkSale(ctx, sale.ID, quantity, limit, won.Load())
	res.Checks = append(res.Checks, check...)
	if err != nil {
		return res, err
	}
	if b := first.Load(); b != nil {
		paid, err := w.payWin(ctx, *b)
		res.Checks = append(res.Checks, paid)
		if err != nil {
			return res, err
		}
	}
	// The same measurement against the naive endpoint.
	w.derived = append(w.derived, row{Scenario: scWinNaive, Kind: kindScenario, Baseline: baseNaive, Target: 10,
		Result: result{Requests: res.Requests, Errors: res.Errors, Duration: res.Duration, Rate: res.Rate, P50: res.P50, P99: res.P99, PeakMB: res.PeakMB}})
	return res, nil
}

// sampleBacklog samples the length of a sale's journal (claims won and
// not yet stored) every 100 ms until the returned function is called,
// which answers the largest sample.
func (w *world) sampleBacklog(ctx context.Context, saleID string) func() int64 {
	var most atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if n, err := w.e.redis.XLen(ctx, saleKeys(saleID)[5]).Result(); err == nil && n > most.Load() {
				most.Store(n)
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		return most.Load()
	}
}

// payWin asks for the wx.requestPayment parameters of a won order, as its
// shopper: the call that follows a win.
func (w *world) payWin(ctx context.Context, win []byte) (string, error) {
	var answer struct {
		Order struct {
			ID       string `json:"id"`
			MemberID string `json:"member_id"`
		} `json:"order"`
	}
	if err := json.Unmarshal(win, &answer); err != nil {
		return "", fmt.Errorf("a win's answer %.300s: %w", win, err)
	}
	token := ""
	for _, m := range w.members {
		if m.ID == answer.Order.MemberID {
			token = m.Token
		}
	}
	var r struct {
		Order struct{ ID string }
		Pay   struct {
			Package string `json:"package"`
			PaySign string `json:"paySign"`
		}
	}
	c := newAPIClient("http://"+w.e.siyuAddr, "")
	if err := c.call(ctx, "POST", "/mp/v1/orders/"+answer.Order.ID+"/pay", nil, &r, "Authorization", "Bearer "+token); err != nil {
		return "", err
	}
	if r.Order.ID != answer.Order.ID || !strings.HasPrefix(r.Pay.Package, "prepay_id=") || r.Pay.PaySign == "" {
		return "", fmt.Errorf("paying a win answered %+v", r)
	}
	return "POST /orders/{id}/pay on a win answered its wx.requestPayment parameters", nil
}

// flashSaleSoldOut first sells a small sale out in a rush (2,000 units,
// two per shopper, every shopper asking until nothing is left) and checks
// it sold exactly its quantity within the limit; then it measures the
// crowd that keeps asking after the last unit.
func flashSaleSoldOut(ctx context.Context, w *world) (result, error) {
	if err := w.ensureMembers(ctx); err != nil {
		return result{}, err
	}
	const quantity, limit = 2000, 2
	sale, err := w.createFlashSale(ctx, quantity, limit)
	if err != nil {
		return result{}, err
	}
	var won, soldOut, limited atomic.Int64
	judge := func(status int, body []byte) error {
		switch {
		case status == 201:
			won.Add(1)
		case status == 409 && bytes.Contains(body, []byte(`"sold_out"`)):
			soldOut.Add(1)
		case status == 409 && bytes.Contains(body, []byte(`"limit_reached"`)):
			limited.Add(1)
		default:
			return fmt.Errorf("%d %.300s", status, body)
		}
		return nil
	}
	// The rush: until the sale answers sold_out to everyone.
	rush := w.o
	rush.warmup, rush.duration = 0, 20*time.Second
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		for rctx.Err() == nil {
			if soldOut.Load() > int64(rush.concurrency) {
				cancel()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	rushRes := httpLoad(rctx, w.e.siyuAddr, rush, w.buyer(sale.ID), judge)
	cancel()
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	checks := []string{fmt.Sprintf("rush: %d requests, %d won, %d limit_reached, %d sold_out, %d errors", rushRes.Requests, won.Load(), limited.Load(), soldOut.Load(), rushRes.Errors)}
	if rushRes.Errors > 0 {
		return result{Checks: checks, ErrSamples: rushRes.ErrSamples}, fmt.Errorf("the rush had %d errors", rushRes.Errors)
	}
	if won.Load() != quantity {
		return result{Checks: checks}, fmt.Errorf("the rush won %d units of %d", won.Load(), quantity)
	}
	more, err := w.checkSale(ctx, sale.ID, quantity, limit, won.Load())
	checks = append(checks, more...)
	if err != nil {
		return result{Checks: checks}, err
	}
	before := won.Load()
	res, err := w.siyuLoad(ctx, w.buyer(sale.ID), func(status int, body []byte) error {
		if status == 409 && bytes.Contains(body, []byte(`"sold_out"`)) {
			return nil
		}
		return judge(status, body)
	})
	res.Checks = checks
	if won.Load() != before {
		return res, fmt.Errorf("%d more units were sold after the sale sold out", won.Load()-before)
	}
	return res, err
}

// checkSale waits until every won claim of a sale is an order, then
// checks that the units Redis gave out, the claims and orders in the
// database and the 201 answers agree, that no shopper holds more than
// the limit, and that the stock plus the units sold is the quantity.
func (w *world) checkSale(ctx context.Context, saleID string, quantity, limit int, answered int64) ([]string, error) {
	keys := saleKeys(saleID)
	start := time.Now()
	deadline := start.Add(2 * time.Minute)
	for {
		n, err := w.e.redis.XLen(ctx, keys[5]).Result()
		if err != nil {
			return nil, err
		}
		var orders int64
		if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM orders WHERE flash_sale_id = ?", saleID).Scan(&orders); err != nil {
			return nil, err
		}
		if n == 0 && orders >= answered {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("after 2 minutes the journal still holds %d claims and %d of %d wins are orders", n, orders, answered)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stored := time.Since(start)
	stockLeft, err := w.e.redis.Get(ctx, keys[1]).Int64()
	if err != nil {
		return nil, err
	}
	bought, err := w.e.redis.HGetAll(ctx, keys[2]).Result()
	if err != nil {
		return nil, err
	}
	var inRedis, most int64
	for _, v := range bought {
		n, _ := strconv.ParseInt(v, 10, 64)
		inRedis += n
		most = max(most, n)
	}
	var claims, units, orders, orderUnits, dbMost int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*), COALESCE(sum(quantity), 0) FROM flash_sale_claims WHERE flash_sale_id = ? AND released_at IS NULL", saleID).Scan(&claims, &units); err != nil {
		return nil, err
	}
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*), COALESCE(sum(i.quantity), 0) FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.flash_sale_id = ?", saleID).Scan(&orders, &orderUnits); err != nil {
		return nil, err
	}
	if err := w.e.db.QueryRowContext(ctx, "SELECT COALESCE(max(n), 0) FROM (SELECT sum(quantity) AS n FROM flash_sale_claims WHERE flash_sale_id = ? AND released_at IS NULL GROUP BY member_id) t", saleID).Scan(&dbMost); err != nil {
		return nil, err
	}
	sold := int64(quantity) - stockLeft
	checks := []string{
		fmt.Sprintf("every win an order %d ms after the load", stored.Milliseconds()),
		fmt.Sprintf("units sold by Redis %d = held by shoppers in Redis %d = claims in the database %d (%d units) = orders %d (%d units) = 201 answers %d",
			sold, inRedis, claims, units, orders, orderUnits, answered),
		fmt.Sprintf("stock left %d + sold %d = quantity %d; the most one shopper holds: %d in Redis, %d in the database (limit %d)",
			stockLeft, sold, quantity, most, dbMost, limit),
	}
	if sold != inRedis || sold != units || sold != orderUnits || units != answered || orders != answered || stockLeft < 0 {
		return checks, fmt.Errorf("the flash sale's books disagree")
	}
	if most > int64(limit) || dbMost > int64(limit) {
		return checks, fmt.Errorf("a shopper holds more than the limit")
	}
	return checks, nil
}
