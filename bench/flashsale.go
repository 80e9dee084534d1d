package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// address is the delivery address every flash-sale purchase sends.
var address = map[string]string{"name": "张三", "phone": "13800138000", "province": "上海市", "city": "上海市", "district": "浦东新区", "detail": "世纪大道 100 号"}

// catalogScript reads the source of one of the catalog's Lua scripts from
// catalog/engine.go, so the Redis ceiling runs exactly the script Siyu
// runs without the catalog exporting it.
func catalogScript(root, name string) (string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "catalog", "engine.go"), nil, 0)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name != name || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					return strconv.Unquote(lit.Value)
				}
			}
		}
	}
	return "", fmt.Errorf("no constant %s in catalog/engine.go", name)
}

// saleKeys are a flash sale's Redis keys, as catalog/engine.go names them.
func saleKeys(saleID string) []string {
	p := "fs:{" + saleID + "}:"
	return []string{p + "meta", p + "stock", p + "bought", p + "claims", p + "dedupe", p + "journal", p + "soldout"}
}

// claimRecord is a claim as the catalog journals it.
type claimRecord struct {
	ID          string    `json:"id"`
	FlashSaleID string    `json:"sale"`
	MemberID    string    `json:"member"`
	Quantity    int       `json:"qty"`
	At          time.Time `json:"at"`
	Attached    string    `json:"attached,omitempty"`
}

// redisCeiling runs the catalog's claim script straight against Redis, from
// the generator, at the same concurrency, one claim per run (as a lone
// request would; Siyu groups concurrent claims into one run): a sale
// armed with more stock than can be sold, claims by 2,000 members, the
// same record (with the delivery address) Siyu journals.
func redisCeiling(ctx context.Context, w *world) (result, error) {
	src, err := catalogScript(w.e.root, "claimScript")
	if err != nil {
		return result{}, err
	}
	script := redis.NewScript(src)
	sale := "bench-ceiling-" + randomAlnum(6)
	keys := saleKeys(sale)
	now := time.Now()
	if err := w.e.redis.HSet(ctx, keys[0], "limit", 1_000_000_000, "starts", now.Add(-time.Minute).UnixMilli(), "ends", now.Add(time.Hour).UnixMilli()).Err(); err != nil {
		return result{}, err
	}
	if err := w.e.redis.Set(ctx, keys[1], 1_000_000_000, 0).Err(); err != nil {
		return result{}, err
	}
	defer w.e.redis.Del(context.Background(), keys...)
	attached, _ := json.Marshal(address)
	members := make([]string, 2000)
	for i := range members {
		members[i] = uuid.Must(uuid.NewV7()).String()
	}
	var won atomic.Int64
	res := loop(ctx, w.o.concurrency, w.o.warmup, w.o.duration, func(worker int) operation {
		return func(seq int) error {
			id := uuid.Must(uuid.NewV7()).String()
			member := members[(worker*7919+seq)%len(members)]
			rec, _ := json.Marshal(claimRecord{ID: id, FlashSaleID: sale, MemberID: member, Quantity: 1, At: time.Now().UTC(), Attached: string(attached)})
			out, err := script.Run(ctx, w.e.redis, keys, member, 1, id, "", time.Now().UnixMilli(), string(rec)).StringSlice()
			if err != nil {
				return err
			}
			if len(out) == 0 || out[0] != "ok" {
				return fmt.Errorf("claim script answered %q", out)
			}
			won.Add(1)
			return nil
		}
	})
	n, err := w.e.redis.XLen(ctx, keys[5]).Result()
	if err != nil {
		return res, err
	}
	if n != won.Load() {
		return res, fmt.Errorf("the journal holds %d claims, the script answered ok %d times", n, won.Load())
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d claims won, %d journal entries", won.Load(), n))
	return res, nil
}

// naiveFlashSale starts bench/naive on the server core and buys from its
// one sale row until the measurement ends.
func naiveFlashSale(ctx context.Context, w *world) (result, error) {
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := w.e.pinned(ctx, w.e.naiveBin, addr, w.e.dbURL)
	logs, err := w.e.logFile("naive.log")
	if err != nil {
		return result{}, err
	}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		return result{}, err
	}
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer stopProcess(cmd, 5*time.Second)
	up := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "naive: listening") {
				up <- true
			}
		}
		close(up)
	}()
	select {
	case ok := <-up:
		if !ok {
			return result{}, errors.New("bench/naive exited; see data/bench/naive.log")
		}
	case <-time.After(30 * time.Second):
		return result{}, errors.New("bench/naive did not start")
	}
	const stock = 10_000_000
	sale := "naive-" + randomAlnum(6)
	if _, err := w.e.db.ExecContext(ctx, "INSERT INTO naive_sales (id, stock) VALUES (?, ?)", sale, stock); err != nil {
		return result{}, err
	}
	var sold atomic.Int64
	path := "/sales/" + sale + "/orders"
	members := make([]string, 2000)
	for i := range members {
		members[i] = uuid.Must(uuid.NewV7()).String()
	}
	var next atomic.Int64
	resetPeak(cmd.Process.Pid)
	res := httpLoad(ctx, addr, w.o, func(_, _ int, req *fasthttp.Request) bool {
		req.Header.SetMethod("POST")
		req.SetRequestURI(path)
		req.Header.Set("X-Member", members[next.Add(1)%int64(len(members))])
		return true
	}, func(status int, body []byte) error {
		if status != 201 {
			return fmt.Errorf("%d %.200s", status, body)
		}
		sold.Add(1)
		return nil
	})
	res.PeakMB = peakMB(cmd.Process.Pid)
	var left, orders int64
	if err := w.e.db.QueryRowContext(ctx, "SELECT stock FROM naive_sales WHERE id = ?", sale).Scan(&left); err != nil {
		return res, err
	}
	if err := w.e.db.QueryRowContext(ctx, "SELECT count(*) FROM naive_orders WHERE sale_id = ?", sale).Scan(&orders); err != nil {
		return res, err
	}
	if stock-left != sold.Load() || orders != sold.Load() {
		return res, fmt.Errorf("naive: %d answered 201, stock fell by %d, %d orders", sold.Load(), stock-left, orders)
	}
	res.Checks = append(res.Checks, fmt.Sprintf("%d sold = stock decrease = orders", sold.Load()))
	return res, nil
}
