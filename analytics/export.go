package analytics

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
)

// The CSV exports start with a UTF-8 byte order mark, which spreadsheet
// programs need to read Chinese text as UTF-8; times are in the
// configured location (Asia/Shanghai) and money is in yuan.
const bom = "\ufeff"

// exportBatch is how many rows an export reads at a time.
const exportBatch = 1000

// csvWriter writes CSV rows, defusing cells a spreadsheet would run as a
// formula (comments and names are shoppers' own text).
type csvWriter struct {
	w   *csv.Writer
	loc *time.Location
}

func (s *Service) newCSV(out io.Writer, header ...string) (*csvWriter, error) {
	if _, err := io.WriteString(out, bom); err != nil {
		return nil, err
	}
	cw := &csvWriter{w: csv.NewWriter(out), loc: s.loc}
	return cw, cw.w.Write(header)
}

func (c *csvWriter) row(cells ...string) error {
	for i, v := range cells {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			cells[i] = "'" + v
		}
	}
	return c.w.Write(cells)
}

func (c *csvWriter) time(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05")
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

func yuan(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

// ExportOrders writes the show's orders as CSV, oldest first.
func (s *Service) ExportOrders(ctx context.Context, showID string, out io.Writer) error {
	if _, err := s.show(ctx, s.db, showID); err != nil {
		return err
	}
	cw, err := s.newCSV(out, "order_id", "created_at", "member_id", "status", "items", "items_total_yuan", "discount_yuan",
		"total_yuan", "refunded_yuan", "paid_at", "inviter_id", "flash_sale_id", "coupon_id")
	if err != nil {
		return err
	}
	type row struct {
		ID          string     `bun:"id"`
		MemberID    string     `bun:"member_id"`
		Status      string     `bun:"status"`
		ItemsTotal  int64      `bun:"items_total"`
		Discount    int64      `bun:"discount"`
		Total       int64      `bun:"total"`
		Refunded    int64      `bun:"refunded"`
		InviterID   string     `bun:"inviter_id"`
		FlashSaleID string     `bun:"flash_sale_id"`
		CouponID    string     `bun:"coupon_id"`
		PaidAt      *time.Time `bun:"paid_at"`
		CreatedAt   time.Time  `bun:"created_at"`
	}
	after := ""
	for {
		var rows []row
		if err := s.db.NewSelect().Table("orders").
			Column("id", "member_id", "status", "items_total", "discount", "total", "refunded", "inviter_id", "flash_sale_id", "coupon_id", "paid_at", "created_at").
			Where("show_id = ? AND id > ?", showID, after).OrderExpr("id ASC").Limit(exportBatch).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("analytics: export orders: %w", err)
		}
		if len(rows) == 0 {
			return cw.flush()
		}
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		var lines []struct {
			OrderID  string `bun:"order_id"`
			Title    string `bun:"title"`
			SKUTitle string `bun:"sku_title"`
			Quantity int    `bun:"quantity"`
		}
		if err := s.db.NewSelect().Table("order_items").Column("order_id", "title", "sku_title", "quantity").
			Where("order_id IN (?)", bun.In(ids)).OrderExpr("order_id, line").Scan(ctx, &lines); err != nil {
			return fmt.Errorf("analytics: export order lines: %w", err)
		}
		items := map[string][]string{}
		for _, l := range lines {
			items[l.OrderID] = append(items[l.OrderID], fmt.Sprintf("%s %s ×%d", l.Title, l.SKUTitle, l.Quantity))
		}
		for _, r := range rows {
			created := r.CreatedAt
			if err := cw.row(r.ID, cw.time(&created), r.MemberID, r.Status, strings.Join(items[r.ID], "; "), yuan(r.ItemsTotal),
				yuan(r.Discount), yuan(r.Total), yuan(r.Refunded), cw.time(r.PaidAt), r.InviterID, r.FlashSaleID, r.CouponID); err != nil {
				return err
			}
		}
		after = rows[len(rows)-1].ID
	}
}

// ExportComments writes every comment of the show as CSV, oldest first,
// hidden and deleted ones included with their status.
func (s *Service) ExportComments(ctx context.Context, showID string, out io.Writer) error {
	if _, err := s.show(ctx, s.db, showID); err != nil {
		return err
	}
	cw, err := s.newCSV(out, "comment_id", "created_at", "member_id", "nickname", "text", "status", "reason")
	if err != nil {
		return err
	}
	after := ""
	for {
		var rows []live.Comment
		if err := s.db.NewSelect().Model(&rows).Where("show_id = ? AND id > ?", showID, after).
			OrderExpr("id ASC").Limit(exportBatch).Scan(ctx); err != nil {
			return fmt.Errorf("analytics: export comments: %w", err)
		}
		if len(rows) == 0 {
			return cw.flush()
		}
		for _, r := range rows {
			at := r.CreatedAt
			if err := cw.row(r.ID, cw.time(&at), r.MemberID, r.Nickname, r.Text, string(r.Status), r.Reason); err != nil {
				return err
			}
		}
		after = rows[len(rows)-1].ID
	}
}

// ExportSessions writes the show's viewer sessions as CSV in the order
// they joined, with each session's length in seconds (an open session
// counts until now).
func (s *Service) ExportSessions(ctx context.Context, showID string, out io.Writer) error {
	show, err := s.show(ctx, s.db, showID)
	if err != nil {
		return err
	}
	w := s.windowOf(show)
	cw, err := s.newCSV(out, "member_id", "participant_sid", "joined_at", "left_at", "seconds")
	if err != nil {
		return err
	}
	sessions, err := sessionsOf(ctx, s.db, showID)
	if err != nil {
		return err
	}
	for _, r := range sessions {
		end := w.end
		if !w.ok {
			end = s.now()
		}
		if r.LeftAt != nil && r.LeftAt.Before(end) {
			end = *r.LeftAt
		}
		secs := max(end.Sub(*r.JoinedAt), 0) / time.Second
		if err := cw.row(r.Identity, r.ParticipantSID, cw.time(r.JoinedAt), cw.time(r.LeftAt), strconv.FormatInt(int64(secs), 10)); err != nil {
			return err
		}
	}
	return cw.flush()
}
