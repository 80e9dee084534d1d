package community

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Conversion kinds: a person joined a customer group, or added a staff
// member as a WeCom contact.
const (
	conversionKindGroup   = "group_join"
	conversionKindContact = "contact_add"
)

// Conversion sources.
const (
	SourceJoinWay    = "join_way"
	SourceContactWay = "contact_way"
	SourceOther      = "other" // a state Siyu did not make, or none
)

// Conversion is a person becoming private traffic: the first time they
// joined a customer group or added a staff member, with where they came
// from (the way's show, campaign and inviter).
type Conversion struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind" enum:"group_join,contact_add"`
	ExternalUserID string    `json:"external_userid"`
	Target         string    `json:"target"`
	UnionID        string    `json:"unionid,omitempty"`
	MemberID       string    `json:"member_id,omitempty"`
	State          string    `json:"state,omitempty"`
	Source         string    `json:"source" enum:"join_way,contact_way,other"`
	WayID          string    `json:"way_id,omitempty"`
	ShowID         string    `json:"show_id,omitempty"`
	CampaignID     string    `json:"campaign_id,omitempty"`
	InviterID      string    `json:"inviter_id,omitempty"`
	OccurredAt     time.Time `json:"occurred_at"`
}

type conversionRow struct {
	bun.BaseModel `bun:"table:traffic_conversions"`

	ID             string    `bun:"id,pk"`
	Kind           string    `bun:"kind,notnull"`
	ExternalUserID string    `bun:"external_userid,notnull"`
	Target         string    `bun:"target,notnull"`
	UnionID        string    `bun:"unionid,notnull"`
	MemberID       string    `bun:"member_id,notnull"`
	State          string    `bun:"state,notnull"`
	Source         string    `bun:"source,notnull"`
	WayID          string    `bun:"way_id,notnull"`
	ShowID         string    `bun:"show_id,notnull"`
	CampaignID     string    `bun:"campaign_id,notnull"`
	InviterID      string    `bun:"inviter_id,notnull"`
	OccurredAt     time.Time `bun:"occurred_at,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

func (r conversionRow) conversion() Conversion {
	return Conversion{ID: r.ID, Kind: r.Kind, ExternalUserID: r.ExternalUserID, Target: r.Target, UnionID: r.UnionID,
		MemberID: r.MemberID, State: r.State, Source: r.Source, WayID: r.WayID, ShowID: r.ShowID, CampaignID: r.CampaignID,
		InviterID: r.InviterID, OccurredAt: r.OccurredAt.UTC()}
}

// recordConversion records a person's first join of a group (or add of a
// staff member), attributed through the state's way and linked to the
// member with the same unionid. A repeat (WeCom resending, a sync, a
// re-join) keeps the first.
func (w *WeCom) recordConversion(ctx context.Context, tx bun.IDB, kind, external, target, unionid, state string, at time.Time) error {
	row := conversionRow{ID: newID(), Kind: kind, ExternalUserID: external, Target: target, UnionID: unionid, State: state,
		Source: SourceOther, OccurredAt: at, CreatedAt: w.now()}
	way, ok, err := w.wayByState(ctx, tx, state)
	if err != nil {
		return err
	}
	if ok {
		row.Source, row.WayID, row.ShowID, row.CampaignID, row.InviterID = way.Kind, way.ConfigID, way.ShowID, way.CampaignID, way.InviterID
	}
	if unionid != "" {
		var ids []string
		if err := tx.NewSelect().Table("members").Column("id").Where("unionid = ?", unionid).OrderExpr("id").Limit(1).Scan(ctx, &ids); err != nil {
			return fmt.Errorf("find member of unionid: %w", err)
		}
		if len(ids) == 1 {
			row.MemberID = ids[0]
		}
	}
	if _, err := tx.NewInsert().Model(&row).On("CONFLICT (kind, external_userid, target) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record conversion: %w", err)
	}
	return nil
}

// LinkConversions links conversions recorded before their member first
// logged in, by unionid, and returns how many it linked.
func (w *WeCom) LinkConversions(ctx context.Context) (int, error) {
	res, err := w.db.NewRaw(`UPDATE traffic_conversions
		SET member_id = (SELECT MIN(m.id) FROM members AS m WHERE m.unionid = traffic_conversions.unionid)
		WHERE member_id = '' AND unionid <> ''
		AND EXISTS (SELECT 1 FROM members AS m WHERE m.unionid = traffic_conversions.unionid)`).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("link conversions: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ConversionFilter selects conversions.
type ConversionFilter struct {
	ShowID   string
	MemberID string
	Kind     string
	Limit    int
}

// Conversions lists conversions, newest first.
func (w *WeCom) Conversions(ctx context.Context, f ConversionFilter) ([]Conversion, error) {
	var rows []conversionRow
	q := w.db.NewSelect().Model(&rows).OrderExpr("occurred_at DESC, id DESC")
	if f.ShowID != "" {
		q = q.Where("show_id = ?", f.ShowID)
	}
	if f.MemberID != "" {
		q = q.Where("member_id = ?", f.MemberID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	if err := q.Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list conversions: %w", err)
	}
	out := make([]Conversion, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.conversion())
	}
	return out, nil
}

// ShowConversions counts a show's conversions by kind and inviter: which
// inviters brought how many people into groups and contacts.
type ShowConversions struct {
	ShowID    string         `json:"show_id"`
	Groups    int            `json:"group_joins"`
	Contacts  int            `json:"contact_adds"`
	Members   int            `json:"members"`
	ByInviter map[string]int `json:"by_inviter"`
}

// ShowConversionStats counts a show's conversions.
func (w *WeCom) ShowConversionStats(ctx context.Context, showID string) (ShowConversions, error) {
	out := ShowConversions{ShowID: showID, ByInviter: map[string]int{}}
	var rows []struct {
		Kind      string `bun:"kind"`
		InviterID string `bun:"inviter_id"`
		N         int    `bun:"n"`
		Linked    int    `bun:"linked"`
	}
	if err := w.db.NewSelect().Model((*conversionRow)(nil)).
		ColumnExpr("kind, inviter_id, COUNT(*) AS n, SUM(CASE WHEN member_id <> '' THEN 1 ELSE 0 END) AS linked").
		Where("show_id = ?", showID).GroupExpr("kind, inviter_id").Scan(ctx, &rows); err != nil {
		return out, fmt.Errorf("count conversions of %s: %w", showID, err)
	}
	for _, r := range rows {
		if r.Kind == conversionKindGroup {
			out.Groups += r.N
		} else {
			out.Contacts += r.N
		}
		out.Members += r.Linked
		if r.InviterID != "" {
			out.ByInviter[r.InviterID] += r.N
		}
	}
	return out, nil
}
