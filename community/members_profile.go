package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// The staff's view of members: a list to search and filter, and a profile
// of everything Siyu knows about one member.

// MemberSummary is a member in the staff's list. The phone number is
// masked (138****8000).
type MemberSummary struct {
	ID         string         `json:"id"`
	Nickname   string         `json:"nickname"`
	AvatarURL  string         `json:"avatar_url,omitempty"`
	Phone      string         `json:"phone,omitempty"`
	HasUnionID bool           `json:"has_unionid"`
	FirstTouch FirstTouchView `json:"first_touch"`
	CreatedAt  time.Time      `json:"created_at"`
}

// FirstTouchView is where a member first came from.
type FirstTouchView struct {
	Scene     int    `json:"scene,omitempty"`
	InviterID string `json:"inviter_id,omitempty"`
	ShowID    string `json:"show_id,omitempty"`
	GroupID   string `json:"group_id,omitempty"`
	Channel   string `json:"channel,omitempty"`
}

func summaryOf(r memberRow) MemberSummary {
	return MemberSummary{ID: r.ID, Nickname: r.Nickname, AvatarURL: r.AvatarURL, Phone: maskPhone(r.Phone), HasUnionID: r.UnionID != "",
		FirstTouch: FirstTouchView{Scene: r.FirstScene, InviterID: r.FirstInviterID, ShowID: r.FirstShowID, GroupID: r.FirstGroupID, Channel: r.FirstChannel},
		CreatedAt:  r.CreatedAt.UTC()}
}

// maskPhone keeps the first three and last four digits.
func maskPhone(p string) string {
	r := []rune(p)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// MemberFilter narrows the member list. Query matches a nickname (part),
// a phone number's last digits, or an id or openid exactly. After is the
// last id of the previous page.
type MemberFilter struct {
	Query     string
	TagID     string
	SegmentID string
	After     string
	Limit     int
}

// MemberPage is a page of the member list; Next is the After of the next
// page (empty on the last).
type MemberPage struct {
	Members []MemberSummary `json:"members"`
	Next    string          `json:"next,omitempty"`
}

// ListMembers lists members in id order (oldest first).
func (s *Segments) ListMembers(ctx context.Context, f MemberFilter) (MemberPage, error) {
	limit := f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var rows []memberRow
	q := s.db.NewSelect().Model(&rows).ModelTableExpr("members AS m").ColumnExpr("m.*")
	if f.SegmentID != "" {
		seg, err := s.Segment(ctx, f.SegmentID)
		if err != nil {
			return MemberPage{}, err
		}
		r, err := ParseRule(seg.Rule)
		if err != nil {
			return MemberPage{}, err
		}
		cond, args := compileRule(s.db, r, s.now(), "")
		q = q.Where(cond, args...)
	}
	if f.TagID != "" {
		q = q.Where("EXISTS (SELECT 1 FROM member_tags mt WHERE mt.member_id = m.id AND mt.tag_id = ?)", f.TagID)
	}
	if qs := strings.TrimSpace(f.Query); qs != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(qs) + "%"
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("m.id = ?", qs).WhereOr("m.openid = ?", qs).WhereOr(`m.nickname LIKE ? ESCAPE '\'`, like).
				WhereOr("m.phone LIKE ?", "%"+strings.Trim(qs, "%_\\"))
		})
	}
	if f.After != "" {
		q = q.Where("m.id > ?", f.After)
	}
	if err := q.OrderExpr("m.id").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return MemberPage{}, fmt.Errorf("list members: %w", err)
	}
	page := MemberPage{Members: []MemberSummary{}}
	for i, r := range rows {
		if i == limit {
			page.Next = rows[limit-1].ID
			break
		}
		page.Members = append(page.Members, summaryOf(r))
	}
	return page, nil
}

// ShowActivity is what a member did in one show.
type ShowActivity struct {
	ShowID       string     `json:"show_id"`
	Title        string     `json:"title"`
	ScheduledAt  *time.Time `json:"scheduled_at,omitempty"`
	Reserved     bool       `json:"reserved"`
	WatchSeconds int64      `json:"watch_seconds"`
	Comments     int        `json:"comments"`
}

// OrderSummary is one order in a member's profile.
type OrderSummary struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Total     int64      `json:"total"`
	Refunded  int64      `json:"refunded"`
	ShowID    string     `json:"show_id,omitempty"`
	CouponID  string     `json:"coupon_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	PaidAt    *time.Time `json:"paid_at,omitempty"`
}

// OrderStats sums a member's orders: Spent is what was paid less refunds.
type OrderStats struct {
	Orders     int            `json:"orders"`
	Paid       int            `json:"paid"`
	Spent      int64          `json:"spent"`
	LastPaidAt *time.Time     `json:"last_paid_at,omitempty"`
	Recent     []OrderSummary `json:"recent"`
}

// ContactView is a member as a WeCom customer of one staff member.
type ContactView struct {
	ExternalUserID string     `json:"external_userid"`
	StaffUserID    string     `json:"staff_userid"`
	State          string     `json:"state,omitempty"`
	AddedAt        time.Time  `json:"added_at"`
	RemovedAt      *time.Time `json:"removed_at,omitempty"`
}

// ConsentView is a member's subscribe-message consent for one template.
type ConsentView struct {
	TemplateID string    `json:"template_id"`
	Remaining  int       `json:"remaining"`
	LongTerm   bool      `json:"long_term"`
	Granted    int       `json:"granted"`
	Used       int       `json:"used"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MemberProfile is everything Siyu knows about a member.
type MemberProfile struct {
	Member      MemberSummary      `json:"member"`
	Shows       []ShowActivity     `json:"shows"`
	Orders      OrderStats         `json:"orders"`
	Coupons     []Coupon           `json:"coupons"`
	Contacts    []ContactView      `json:"wecom_contacts"`
	Groups      []WeComGroupPerson `json:"wecom_groups"`
	Conversions []Conversion       `json:"conversions"`
	Tags        []Tag              `json:"tags"`
	Consents    []ConsentView      `json:"consents"`
}

// Profile returns a member's profile. coupons lists the member's coupons
// (Coupons.MemberCoupons).
func (s *Segments) Profile(ctx context.Context, memberID string, coupons func(ctx context.Context, memberID string) ([]Coupon, error)) (MemberProfile, error) {
	var m memberRow
	if err := s.db.NewSelect().Model(&m).Where("id = ?", memberID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return MemberProfile{}, ErrMemberNotFound
		}
		return MemberProfile{}, fmt.Errorf("read member: %w", err)
	}
	p := MemberProfile{Member: summaryOf(m), Contacts: []ContactView{}, Groups: []WeComGroupPerson{}, Consents: []ConsentView{}}
	var err error
	if p.Shows, err = s.showActivity(ctx, memberID); err != nil {
		return p, err
	}
	if p.Orders, err = s.orderStats(ctx, memberID); err != nil {
		return p, err
	}
	if p.Coupons, err = coupons(ctx, memberID); err != nil {
		return p, err
	}
	if p.Tags, err = s.MemberTags(ctx, memberID); err != nil {
		return p, err
	}
	if m.UnionID != "" {
		var contacts []contactRow
		if err := s.db.NewSelect().Model(&contacts).Where("unionid = ?", m.UnionID).OrderExpr("added_at").Scan(ctx); err != nil {
			return p, fmt.Errorf("read WeCom contacts: %w", err)
		}
		for _, c := range contacts {
			p.Contacts = append(p.Contacts, ContactView{ExternalUserID: c.ExternalUserID, StaffUserID: c.StaffUserID, State: c.State,
				AddedAt: c.AddedAt.UTC(), RemovedAt: utcPtr(c.RemovedAt)})
		}
		if p.Groups, err = groupPeople(ctx, s.db, func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("g.unionid = ?", m.UnionID).OrderExpr("g.joined_at")
		}); err != nil {
			return p, err
		}
	}
	var conv []conversionRow
	q := s.db.NewSelect().Model(&conv).Where("member_id = ?", memberID)
	if m.UnionID != "" {
		q = q.WhereOr("unionid = ?", m.UnionID)
	}
	if err := q.OrderExpr("occurred_at").Scan(ctx); err != nil {
		return p, fmt.Errorf("read conversions: %w", err)
	}
	p.Conversions = make([]Conversion, 0, len(conv))
	for _, c := range conv {
		p.Conversions = append(p.Conversions, c.conversion())
	}
	var consents []Consent
	if err := s.db.NewSelect().Model(&consents).Where("member_id = ?", memberID).OrderExpr("template_id").Scan(ctx); err != nil {
		return p, fmt.Errorf("read consents: %w", err)
	}
	for _, c := range consents {
		p.Consents = append(p.Consents, ConsentView{TemplateID: c.TemplateID, Remaining: c.Remaining, LongTerm: c.LongTerm,
			Granted: c.Granted, Used: c.Used, UpdatedAt: c.UpdatedAt.UTC()})
	}
	return p, nil
}

// showActivity gathers a member's watch time, reservations and comments
// per show, newest show first.
func (s *Segments) showActivity(ctx context.Context, memberID string) ([]ShowActivity, error) {
	now := s.now()
	by := map[string]*ShowActivity{}
	get := func(id string) *ShowActivity {
		if a, ok := by[id]; ok {
			return a
		}
		a := &ShowActivity{ShowID: id}
		by[id] = a
		return a
	}
	var sessions []struct {
		ShowID   string     `bun:"show_id"`
		JoinedAt *time.Time `bun:"joined_at"`
		LeftAt   *time.Time `bun:"left_at"`
	}
	if err := s.db.NewSelect().Table("viewer_sessions").Column("show_id", "joined_at", "left_at").
		Where("identity = ? AND joined_at IS NOT NULL", memberID).Scan(ctx, &sessions); err != nil {
		return nil, fmt.Errorf("read viewer sessions: %w", err)
	}
	for _, v := range sessions {
		end := now
		if v.LeftAt != nil {
			end = *v.LeftAt
		}
		a := get(v.ShowID)
		if end.After(*v.JoinedAt) {
			a.WatchSeconds += int64(end.Sub(*v.JoinedAt) / time.Second)
		}
	}
	var reserved []string
	if err := s.db.NewSelect().Table("show_reservations").Column("show_id").Where("member_id = ?", memberID).Scan(ctx, &reserved); err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	for _, id := range reserved {
		get(id).Reserved = true
	}
	var comments []struct {
		ShowID string `bun:"show_id"`
		N      int    `bun:"n"`
	}
	if err := s.db.NewSelect().Table("comments").ColumnExpr("show_id, COUNT(*) AS n").Where("member_id = ?", memberID).
		GroupExpr("show_id").Scan(ctx, &comments); err != nil {
		return nil, fmt.Errorf("count comments: %w", err)
	}
	for _, c := range comments {
		get(c.ShowID).Comments = c.N
	}
	out := make([]ShowActivity, 0, len(by))
	if len(by) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(by))
	for id := range by {
		ids = append(ids, id)
	}
	var shows []struct {
		ID          string    `bun:"id"`
		Title       string    `bun:"title"`
		ScheduledAt time.Time `bun:"scheduled_at"`
	}
	if err := s.db.NewSelect().Table("shows").Column("id", "title", "scheduled_at").Where("id IN (?)", bun.In(ids)).Scan(ctx, &shows); err != nil {
		return nil, fmt.Errorf("read shows: %w", err)
	}
	for _, sh := range shows {
		a := by[sh.ID]
		a.Title = sh.Title
		t := sh.ScheduledAt.UTC()
		a.ScheduledAt = &t
	}
	for _, a := range by {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		ti, tj := out[i].ScheduledAt, out[j].ScheduledAt
		switch {
		case ti == nil || tj == nil:
			return out[i].ShowID > out[j].ShowID
		case !ti.Equal(*tj):
			return ti.After(*tj)
		}
		return out[i].ShowID > out[j].ShowID
	})
	return out, nil
}

// orderStats sums a member's orders and lists the latest ten.
func (s *Segments) orderStats(ctx context.Context, memberID string) (OrderStats, error) {
	st := OrderStats{Recent: []OrderSummary{}}
	var sum struct {
		Orders int        `bun:"orders"`
		Paid   int        `bun:"paid"`
		Spent  int64      `bun:"spent"`
		Last   *time.Time `bun:"last_paid"`
	}
	if err := s.db.NewSelect().Table("orders").
		ColumnExpr("COUNT(*) AS orders").
		ColumnExpr("SUM(CASE WHEN paid_at IS NOT NULL THEN 1 ELSE 0 END) AS paid").
		ColumnExpr("COALESCE(SUM(CASE WHEN paid_at IS NOT NULL THEN total - refunded ELSE 0 END), 0) AS spent").
		ColumnExpr("MAX(paid_at) AS last_paid").
		Where("member_id = ?", memberID).Scan(ctx, &sum); err != nil {
		return st, fmt.Errorf("sum orders: %w", err)
	}
	st.Orders, st.Paid, st.Spent, st.LastPaidAt = sum.Orders, sum.Paid, sum.Spent, utcPtr(sum.Last)
	var recent []struct {
		ID        string     `bun:"id"`
		Status    string     `bun:"status"`
		Total     int64      `bun:"total"`
		Refunded  int64      `bun:"refunded"`
		ShowID    string     `bun:"show_id"`
		CouponID  string     `bun:"coupon_id"`
		CreatedAt time.Time  `bun:"created_at"`
		PaidAt    *time.Time `bun:"paid_at"`
	}
	if err := s.db.NewSelect().Table("orders").Column("id", "status", "total", "refunded", "show_id", "coupon_id", "created_at", "paid_at").
		Where("member_id = ?", memberID).OrderExpr("created_at DESC, id DESC").Limit(10).Scan(ctx, &recent); err != nil {
		return st, fmt.Errorf("list orders: %w", err)
	}
	for _, o := range recent {
		st.Recent = append(st.Recent, OrderSummary{ID: o.ID, Status: o.Status, Total: o.Total, Refunded: o.Refunded, ShowID: o.ShowID,
			CouponID: o.CouponID, CreatedAt: o.CreatedAt.UTC(), PaidAt: utcPtr(o.PaidAt)})
	}
	return st, nil
}
