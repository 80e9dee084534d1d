package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	lksdk "github.com/livekit/server-sdk-go/v2"

	"github.com/siyu-live/siyu/testsupport"
)

// chromiumPath is Debian's Chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the browser test saves what each page looked
// like: TEST_OUTPUT_DIR when set, else testdata/screenshots-out (which
// ignores itself in git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots-out")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Screenshots of an earlier run would mix with this run's.
	old, _ := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.png"))
	for _, f := range old {
		_ = os.Remove(f)
	}
	if os.Getenv("TEST_OUTPUT_DIR") == "" {
		if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// browser starts a headless Chromium with a fresh profile, answering
// every confirm() with OK.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if testsupport.InCI() {
			t.Fatalf("Chromium is not installed at %s (.ci/run installs it): %v", chromiumPath, err)
		}
		t.Skipf("Chromium is not installed at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser, on a context without a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			// A confirm() blocks the click that opened it: answer OK.
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()
	return ctx
}

// TestConsoleInBrowser drives the web console in Chromium against the
// real program, a real LiveKit and the WeChat sandbox: a staff member signs
// in, creates a product, schedules a show with a lineup and goes live; in
// the control room a viewer's arrival, comment, like and order appear
// without a reload; a product is pinned; the report draws its charts.
// Every page is saved as a screenshot.
func TestConsoleInBrowser(t *testing.T) {
	ctx := browser(t)
	shots := screenshotDir(t)
	dialects := testsupport.Dialects(t)
	d := dialects[len(dialects)-1] // PostgreSQL when there is one
	addr := freeAddr(t)
	base := "http://" + addr
	lk := testsupport.StartLiveKit(t, testsupport.LiveKitOptions{WebhookURLs: []string{base + "/callbacks/livekit"}})
	env := map[string]string{
		"DATABASE_URL": testsupport.DatabaseURL(t, d), "REDIS_URL": testsupport.Redis(t), "SIYU_DATA_DIR": t.TempDir(),
		"SIYU_HTTP_ADDR": addr, "SIYU_PUBLIC_URL": base,
		"LIVEKIT_URL": lk.URL, "LIVEKIT_API_KEY": lk.APIKey, "LIVEKIT_API_SECRET": lk.APISecret,
		"LIVE_BROADCAST_TICK": "250ms", "LIVE_COMMENT_INTERVAL": "1s",
	}
	getenv := func(k string) string { return env[k] }
	var out, errb strings.Builder
	if code := run(t.Context(), []string{"siyu", "migrate", "up"}, getenv, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"siyu", "seed"}, getenv, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	m := seededPassword.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("seed printed %q", out.String())
	}
	password := m[2]
	s := startSiyu(t, env)

	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	type act = chromedp.Action[chromedp.Void]
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	step := 0
	shot := func(name string) act {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			step++
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			// Under load Chromium may not have laid the page out yet
			// ("Cannot take screenshot with 0 width"): wait for it.
			for try := 0; err != nil && strings.Contains(err.Error(), "0 width") && try < 50; try++ {
				time.Sleep(100 * time.Millisecond)
				buf, err = chromedp.FullScreenshot(100)(ctx, tg)
			}
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", step, name)), buf, 0o644)
		})
	}
	location := func() string {
		loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
		return loc
	}
	must := func(what string, steps ...act) {
		t.Helper()
		for i, st := range steps {
			if err := chromedp.Do(ctx, st); err != nil {
				t.Fatalf("%s, step %d: %v (at %s)\n%s", what, i+1, err, location(), s.Logs())
			}
		}
	}
	// waitText waits until the element's text holds text, across the
	// page loads a click may start.
	waitText := func(sel, text string) act {
		expr := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, text)
		check := chromedp.Evaluate[bool](expr)
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			deadline := time.Now().Add(30 * time.Second)
			for {
				ok, err := check(ctx, tg)
				if err == nil && ok {
					return nil
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					return fmt.Errorf("no %q in %s (last error: %v)", text, sel, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}

	// Sign in: the console sends an anonymous visitor to the sign-in page.
	must("sign in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(css(`#sign-in`)),
		shot("sign-in"),
		chromedp.SendKeys(css(`#sign-in input[name=name]`), "owner"),
		chromedp.SendKeys(css(`#sign-in input[name=password]`), password),
		chromedp.Click(css(`#sign-in button[type=submit]`)),
		chromedp.WaitVisible(css(`.tiles`)),
		waitText(`header.top nav`, "直播"),
		shot("dashboard"),
	)

	// A product to sell.
	must("create a product",
		chromedp.Navigate(base+"/console/products"),
		chromedp.WaitVisible(css(`form[action="/console/products"]`)),
		chromedp.SendKeys(css(`input[name=title]`), "高山乌龙 150g"),
		chromedp.SendKeys(css(`input[name=image]`), "https://cdn.example.com/oolong.jpg"),
		chromedp.SendKeys(css(`input[name=sku_title]`), "罐装"),
		chromedp.SendKeys(css(`input[name=list_price]`), "168"),
		chromedp.SendKeys(css(`input[name=stock]`), "20"),
		chromedp.Click(css(`form[action="/console/products"] button[type=submit]`)),
		waitText(`.alert.ok`, "商品已创建"),
		chromedp.Click(css(`form[action$="/publish"] button`)),
		waitText(`.alert.ok`, "商品已上架"),
		shot("product"),
	)
	productID := strings.TrimPrefix(strings.Split(location(), "?")[0], base+"/console/products/")
	must("list products",
		chromedp.Navigate(base+"/console/products"),
		waitText(`table`, "高山乌龙"),
		shot("products"),
	)

	// Schedule a show with a lineup.
	startAt := time.Now().Add(2 * time.Minute).In(time.FixedZone("CST", 8*3600)).Format("2006-01-02T15:04")
	must("schedule a show",
		chromedp.Navigate(base+"/console/shows/new"),
		chromedp.WaitVisible(css(`#show-form`)),
		chromedp.SendKeys(css(`#show-form input[name=title]`), "周五茶会"),
		chromedp.SetValue(css(`#show-form input[name=scheduled_at]`), startAt),
		chromedp.SendKeys(css(`#show-form input[name=host_name]`), "茶小二"),
		shot("show-form"),
		chromedp.Click(css(`#show-form button[type=submit]`)),
		waitText(`.alert.ok`, "直播已安排"),
	)
	showURL := strings.Split(location(), "?")[0]
	showID := strings.TrimPrefix(showURL, base+"/console/shows/")
	skuID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#lineup-form select[name=sku_id] option:nth-child(2)').value`))
	if err != nil || skuID == "" {
		t.Fatalf("the lineup form offers no SKU: %q %v", skuID, err)
	}
	must("build the lineup",
		chromedp.SetValue(css(`#lineup-form select[name=sku_id]`), skuID),
		chromedp.SendKeys(css(`#lineup-form input[name=live_price]`), "88"),
		chromedp.Click(css(`#lineup-form button[type=submit]`)),
		waitText(`.alert.ok`, "货盘已更新"),
		waitText(`#lineup table`, "¥88.00"),
		shot("show-with-lineup"),
	)
	// This LiveKit has no Ingress service: the page says so plainly.
	must("ask for an RTMP ingress",
		chromedp.Click(css(`form[action$="/ingress"] button[value=rtmp]`)),
		waitText(`#form-error`, "Ingress"),
		shot("show-ingress-unavailable"),
	)
	// A coupon to drop in the show.
	must("create a coupon",
		chromedp.Navigate(base+"/console/coupons"),
		chromedp.SendKeys(css(`#coupon-form input[name=name]`), "直播间立减10元"),
		chromedp.SendKeys(css(`#coupon-form input[name=amount_off]`), "10"),
		chromedp.Click(css(`#coupon-form button[type=submit]`)),
		waitText(`.alert.ok`, "优惠券已创建"),
		shot("coupons"),
		chromedp.Navigate(showURL),
		chromedp.WaitVisible(css(`#start-show`)),
	)

	// Go live: the control room opens and its feed connects.
	must("go live",
		chromedp.Click(css(`#start-show`)),
		chromedp.WaitVisible(css(`#control`)),
		waitText(`#feed-state`, "实时"),
		shot("control-room-live"),
	)

	// A shopper logs in through the sandbox, joins the room for real,
	// comments, likes, opens the product card and orders.
	shopper := &http.Client{Timeout: 20 * time.Second}
	var code struct{ Code string }
	if st := call(t, shopper, http.MethodPost, base+"/sandbox/miniprogram/login-code", "", map[string]string{"openid": "o-browser-viewer"}, &code); st != 200 {
		t.Fatalf("wx.login = %d", st)
	}
	var sess struct {
		Token  string
		Member struct{ ID string }
	}
	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/session", "", map[string]any{"code": code.Code}, &sess); st != 201 {
		t.Fatalf("login = %d\n%s", st, s.Logs())
	}
	if st := call(t, shopper, http.MethodPatch, base+"/mp/v1/me", sess.Token, map[string]string{"nickname": "小红"}, nil); st != 200 {
		t.Fatalf("nickname = %d", st)
	}
	var join struct {
		LiveKitURL string `json:"livekit_url"`
		Token      string
	}
	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+showID+"/join", sess.Token, nil, &join); st != 200 {
		t.Fatalf("join = %d\n%s", st, s.Logs())
	}
	room, err := lksdk.ConnectToRoomWithToken(join.LiveKitURL, join.Token, lksdk.NewRoomCallback(), lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatalf("connect to the room: %v", err)
	}
	defer room.Disconnect()
	must("the viewer arrives", waitText(`[data-k=viewers]`, "1"))

	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+showID+"/comments", sess.Token, map[string]string{"text": "主播好！这款多少钱？"}, nil); st != 202 {
		t.Fatalf("comment = %d\n%s", st, s.Logs())
	}
	must("the comment appears without a reload", waitText(`#chat`, "主播好！这款多少钱？"), waitText(`#chat`, "小红"))
	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+showID+"/likes", sess.Token, map[string]int{"count": 12}, nil); st != 202 {
		t.Fatalf("likes = %d", st)
	}
	var product struct{ ID string }
	product.ID = productID
	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+showID+"/product-clicks", sess.Token, map[string]string{"product_id": product.ID}, nil); st != 202 {
		t.Fatalf("product click = %d\n%s", st, s.Logs())
	}
	address := map[string]string{"name": "王五", "phone": "13700137000", "province": "广东省", "city": "深圳市", "district": "南山区", "detail": "科技园 8 号"}
	var receipt struct {
		Order struct{ ID string }
		Pay   map[string]string
	}
	if st := callKey(t, shopper, http.MethodPost, base+"/mp/v1/orders", sess.Token, "browser-order-1",
		map[string]any{"items": []map[string]any{{"sku_id": skuID, "quantity": 1}}, "show_id": showID, "address": address}, &receipt); st != 201 {
		t.Fatalf("order = %d\n%s", st, s.Logs())
	}
	must("the order appears without a reload",
		waitText(`#orders-body`, "高山乌龙"),
		waitText(`#orders-body`, "待支付"),
		waitText(`[data-k=product_clicks]`, "1"),
		waitText(`[data-k=likes]`, "12"),
	)
	var paid struct{ ErrMsg string }
	if st := call(t, shopper, http.MethodPost, base+"/sandbox/wxpay/pay", "", receipt.Pay, &paid); st != 200 || paid.ErrMsg != "requestPayment:ok" {
		t.Fatalf("pay = %d %+v", st, paid)
	}
	must("the payment appears without a reload",
		waitText(`#orders-body`, "已支付"),
		waitText(`[data-k=gmv]`, "¥88.00"),
		waitText(`[data-k=paid_orders]`, "1"),
		shot("control-room-comment-and-order"),
	)

	// Pin the product and put up an announcement from the room.
	must("pin a product",
		chromedp.Click(css(`.product[data-product="`+product.ID+`"] button.pin`)),
		waitText(`#toast`, "商品已置顶讲解"),
		chromedp.WaitVisible(css(`.product.pinned[data-product="`+product.ID+`"]`)),
		chromedp.SendKeys(css(`form.js input[name=text]`), "今晚 9 点秒杀，记得蹲！"),
		chromedp.Click(css(`form.js:has(input[name=text]) button[type=submit]`)),
		waitText(`#announcement-now`, "今晚 9 点秒杀"),
		shot("control-room-pinned"),
	)
	must("drop coupons",
		chromedp.Click(css(`form[action$="/coupon-drops"] button[type=submit]`)),
		waitText(`#toast`, "优惠券已发出"),
	)
	var drops struct {
		Drops []struct{ ID string }
	}
	if st := call(t, shopper, http.MethodGet, base+"/mp/v1/shows/"+showID+"/coupon-drops", sess.Token, nil, &drops); st != 200 || len(drops.Drops) != 1 {
		t.Fatalf("coupon drops = %d %+v", st, drops)
	}
	if st := call(t, shopper, http.MethodPost, base+"/mp/v1/shows/"+showID+"/coupon-drops/"+drops.Drops[0].ID+"/claim", sess.Token, nil, nil); st != 201 {
		t.Fatalf("claim = %d\n%s", st, s.Logs())
	}
	staffJar, _ := cookiejar.New(nil)
	staffAPI := &http.Client{Jar: staffJar, Timeout: 20 * time.Second}
	if st := call(t, staffAPI, http.MethodPost, base+"/console/api/v1/session", "", map[string]string{"name": "owner", "password": password}, nil); st != 200 {
		t.Fatalf("JSON sign-in = %d", st)
	}
	var shown struct {
		PinnedProductID string `json:"pinned_product_id"`
		Announcement    string
	}
	call(t, staffAPI, http.MethodGet, base+"/console/api/v1/shows/"+showID, "", nil, &shown)
	if shown.PinnedProductID != product.ID || !strings.Contains(shown.Announcement, "秒杀") {
		t.Fatalf("the show after the room's actions: %+v", shown)
	}

	// The report: figures and the server-drawn charts.
	must("open the report",
		chromedp.Navigate(base+"/console/shows/"+showID+"/report"),
		chromedp.WaitReady(css(`#chart-viewers svg.chart.viewers polyline`)),
		chromedp.WaitReady(css(`#chart-funnel svg.chart.funnel rect.step`)),
		chromedp.WaitReady(css(`#chart-watch svg.chart.watch rect.bar`)),
		chromedp.WaitReady(css(`#chart-viewers svg .marker.pin`)),
		chromedp.WaitReady(css(`#chart-viewers svg .marker.drop`)),
		waitText(`#chart-funnel`, "支付"),
		waitText(`#private-traffic`, "领券1"),
		shot("report"),
	)
	resp, err := staffAPI.Get(base + "/console/shows/" + showID + "/report/orders.csv")
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(csv), receipt.Order.ID) || !strings.Contains(string(csv), "paid") {
		t.Fatalf("orders CSV = %d\n%s", resp.StatusCode, csv)
	}

	// Every other page, as each looks with this show's data.
	for _, p := range []struct{ path, wait, name string }{
		{"/console/", ".tiles", "dashboard-live"},
		{"/console/shows", "table", "shows"},
		{"/console/shows/" + showID, "#lineup", "show"},
		{"/console/flash-sales?show_id=" + showID, "form", "flash-sales"},
		{"/console/orders", "table", "orders"},
		{"/console/orders/" + receipt.Order.ID, ".kv", "order"},
		{"/console/refunds", "table", "refunds"},
		{"/console/members", "table", "members"},
		{"/console/members/" + sess.Member.ID, ".kv", "member"},
		{"/console/tags", "table", "tags"},
		{"/console/segments", "table", "segments"},
		{"/console/campaigns", "table", "campaigns"},
		{"/console/staff", "table", "staff"},
		{"/console/audit", "table", "audit"},
		{"/console/shows/" + showID + "/live?lang=en", "#control", "control-room-english"},
		{"/console/shows/" + showID + "/report?lang=en", "#chart-viewers", "report-english"},
	} {
		must("open "+p.path, chromedp.Navigate(base+p.path), chromedp.WaitVisible(css(p.wait)), shot(p.name))
	}
	must("English stays chosen", chromedp.Navigate(base+"/console/shows"))
	title, _ := chromedp.Run(ctx, chromedp.Title())
	if !strings.HasPrefix(title, "Shows") {
		t.Errorf("after ?lang=en the shows page is titled %q", title)
	}
	cancel()
	room.Disconnect()
	if code := s.Stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, s.Logs())
	}
	t.Logf("screenshots in %s", shots)
}
