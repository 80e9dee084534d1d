package catalog

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/testsupport"
)

// clock is a time a test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Millisecond)} }

// newTestService returns a catalog on db and a Redis database of its own.
func newTestService(t *testing.T, db *bun.DB, clk *clock) *Service {
	t.Helper()
	opt, err := redis.ParseURL(testsupport.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	s, err := New(Config{DB: db, Redis: rc, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seedSKU creates a published product with one SKU of the given stock.
func seedSKU(t *testing.T, s *Service, stock int) (Product, SKU) {
	t.Helper()
	ctx := context.Background()
	p, err := s.CreateProduct(ctx, "staff-1", ProductInput{Title: "桂花乌龙 250g", Images: []string{"https://cdn.example.com/a.jpg"}},
		[]SKUInput{{Title: "礼盒装", ListPrice: 12900, Stock: stock, Attributes: map[string]string{"规格": "礼盒"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = s.SetPublished(ctx, "staff-1", p.ID, true); err != nil {
		t.Fatal(err)
	}
	return p, p.SKUs[0]
}

// seedSale creates a lineup for show and a flash sale running now.
func seedSale(t *testing.T, s *Service, clk *clock, stock, quantity, limit int) (FlashSale, SKU) {
	t.Helper()
	ctx := context.Background()
	_, sku := seedSKU(t, s, stock)
	if _, err := s.SetLineup(ctx, "staff-1", "show-1", []LineupEntry{{SKUID: sku.ID, LivePrice: 9900}}); err != nil {
		t.Fatal(err)
	}
	f, err := s.CreateFlashSale(ctx, "staff-1", FlashSaleInput{ShowID: "show-1", SKUID: sku.ID, Price: 5900, Quantity: quantity,
		PerMemberLimit: limit, StartsAt: clk.Now().Add(-time.Second), EndsAt: clk.Now().Add(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return f, sku
}

// recordingSink persists claims straight into the claims table, as
// payments does inside its order transaction.
type recordingSink struct {
	s    *Service
	mu   sync.Mutex
	seen map[string]int
	fail error
}

func (r *recordingSink) PersistClaims(ctx context.Context, claims []Claim) error {
	if r.fail != nil {
		return r.fail
	}
	r.mu.Lock()
	if r.seen == nil {
		r.seen = map[string]int{}
	}
	for _, c := range claims {
		r.seen[c.ID]++
	}
	r.mu.Unlock()
	_, err := r.s.RecordClaims(ctx, r.s.db, claims)
	return err
}
