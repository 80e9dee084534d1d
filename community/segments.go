package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Segment errors.
var (
	// ErrSegmentNotFound is returned for an unknown segment.
	ErrSegmentNotFound = errors.New("segment not found")
	// ErrInvalidSegment is wrapped by errors about a segment's fields.
	ErrInvalidSegment = errors.New("invalid segment")
	// ErrNameTaken is returned when a segment or tag name is in use.
	ErrNameTaken = errors.New("the name is already in use")
)

// Segment is a named rule over members' behaviour and attributes,
// evaluated whenever it is used.
type Segment struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rule        json.RawMessage `json:"rule"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// SegmentInput is what staff give for a segment.
type SegmentInput struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rule        json.RawMessage `json:"rule"`
}

type segmentRow struct {
	bun.BaseModel `bun:"table:segments"`

	ID          string    `bun:"id,pk"`
	Name        string    `bun:"name,notnull"`
	Description string    `bun:"description,notnull"`
	Rule        string    `bun:"rule,notnull"`
	CreatedBy   string    `bun:"created_by,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
	UpdatedAt   time.Time `bun:"updated_at,notnull"`
}

func (r segmentRow) segment() Segment {
	return Segment{ID: r.ID, Name: r.Name, Description: r.Description, Rule: json.RawMessage(r.Rule),
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// SegmentsConfig configures Segments.
type SegmentsConfig struct {
	DB *bun.DB
	// Now is the clock; time.Now by default.
	Now    func() time.Time
	Logger *slog.Logger
}

// Segments keeps segments and tags and evaluates segment rules in SQL.
type Segments struct {
	db  *bun.DB
	now func() time.Time
	log *slog.Logger
}

// NewSegments returns the service.
func NewSegments(cfg SegmentsConfig) (*Segments, error) {
	if cfg.DB == nil {
		return nil, errors.New("community: SegmentsConfig needs DB")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	return &Segments{db: cfg.DB, now: func() time.Time { return now().UTC() }, log: cfg.Logger}, nil
}

// CheckRule parses a rule and checks that the objects it names exist:
// tags, shows, WeCom groups, campaigns, coupon templates and inviting
// members. A wrong rule is a *RuleError.
func (s *Segments) CheckRule(ctx context.Context, raw json.RawMessage) (Rule, error) {
	r, err := ParseRule(raw)
	if err != nil {
		return Rule{}, err
	}
	err = r.walk("", func(p Rule, path string) error {
		check := func(param, table, column, what string) error {
			id := p.str(param)
			if id == "" {
				return nil
			}
			n, err := s.db.NewSelect().Table(table).Where("? = ?", bun.Ident(column), id).Count(ctx)
			if err != nil {
				return fmt.Errorf("look up %s %s: %w", what, id, err)
			}
			if n == 0 {
				return &RuleError{Path: rulePath(path, param), Problem: fmt.Sprintf("no %s has id %q", what, id)}
			}
			return nil
		}
		switch p.op {
		case "watched_show", "reserved", "reserved_not_watched", "converted_from_show", "first_show", "commented":
			return check("show_id", "shows", "id", "show")
		case "joined_group":
			return check("chat_id", "wecom_groups", "chat_id", "WeCom group")
		case "invited_by":
			return check("member_id", "members", "id", "member")
		case "has_tag":
			return check("tag_id", "tags", "id", "tag")
		case "has_coupon":
			return check("template_id", "coupon_templates", "id", "coupon template")
		case "not_targeted_by":
			return check("campaign_id", "campaigns", "id", "campaign")
		}
		return nil
	})
	if err != nil {
		return Rule{}, err
	}
	return r, nil
}

func (in SegmentInput) clean() (SegmentInput, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	if in.Name == "" || len([]rune(in.Name)) > 60 {
		return in, fmt.Errorf("%w: name must be 1 to 60 characters", ErrInvalidSegment)
	}
	if len([]rune(in.Description)) > 500 {
		return in, fmt.Errorf("%w: description must be at most 500 characters", ErrInvalidSegment)
	}
	return in, nil
}

// ruleText re-encodes a parsed rule, so stored rules are tidy.
func ruleText(r Rule) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// CreateSegment stores a new segment.
func (s *Segments) CreateSegment(ctx context.Context, staffID string, in SegmentInput) (Segment, error) {
	in, err := in.clean()
	if err != nil {
		return Segment{}, err
	}
	r, err := s.CheckRule(ctx, in.Rule)
	if err != nil {
		return Segment{}, err
	}
	now := s.now()
	row := segmentRow{ID: newID(), Name: in.Name, Description: in.Description, Rule: ruleText(r), CreatedBy: staffID, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&row).On("CONFLICT (name) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert segment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
		}
		return recordStaffAction(ctx, tx, staffID, "segment.create", "segment", row.ID, map[string]any{"name": row.Name})
	})
	if err != nil {
		return Segment{}, err
	}
	return row.segment(), nil
}

// UpdateSegment changes a segment's name, description and rule.
func (s *Segments) UpdateSegment(ctx context.Context, staffID, id string, in SegmentInput) (Segment, error) {
	in, err := in.clean()
	if err != nil {
		return Segment{}, err
	}
	r, err := s.CheckRule(ctx, in.Rule)
	if err != nil {
		return Segment{}, err
	}
	var taken int64
	if taken, err = s.db.NewSelect().Model((*segmentRow)(nil)).Where("name = ? AND id <> ?", in.Name, id).Count(ctx); err != nil {
		return Segment{}, fmt.Errorf("check segment name: %w", err)
	}
	if taken > 0 {
		return Segment{}, fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*segmentRow)(nil)).Set("name = ?", in.Name).Set("description = ?", in.Description).
			Set("rule = ?", ruleText(r)).Set("updated_at = ?", s.now()).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update segment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSegmentNotFound
		}
		return recordStaffAction(ctx, tx, staffID, "segment.update", "segment", id, map[string]any{"name": in.Name})
	})
	if err != nil {
		return Segment{}, err
	}
	return s.Segment(ctx, id)
}

// ErrSegmentInUse is returned when deleting a segment a campaign that is
// not over still targets.
var ErrSegmentInUse = errors.New("a campaign that is not over targets this segment")

// DeleteSegment removes a segment no campaign still to run targets (runs
// already started keep the rule they copied).
func (s *Segments) DeleteSegment(ctx context.Context, staffID, id string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Table("campaigns").Where("segment_id = ? AND status NOT IN (?)", id, bun.In([]string{CampaignCancelled, CampaignCompleted})).Count(ctx)
		if err != nil {
			return fmt.Errorf("find campaigns of segment: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%w (%d campaigns)", ErrSegmentInUse, n)
		}
		res, err := tx.NewDelete().Model((*segmentRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrSegmentNotFound
		}
		return recordStaffAction(ctx, tx, staffID, "segment.delete", "segment", id, nil)
	})
}

// Segment returns a segment.
func (s *Segments) Segment(ctx context.Context, id string) (Segment, error) {
	var row segmentRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Segment{}, ErrSegmentNotFound
		}
		return Segment{}, fmt.Errorf("read segment: %w", err)
	}
	return row.segment(), nil
}

// ListSegments lists every segment by name.
func (s *Segments) ListSegments(ctx context.Context) ([]Segment, error) {
	var rows []segmentRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.segment())
	}
	return out, nil
}

// Preview is what a rule selects right now: how many members, and the
// first few by id.
type Preview struct {
	Count  int       `json:"count"`
	Sample []string  `json:"sample"`
	AsOf   time.Time `json:"as_of"`
}

// PreviewRule counts the members a rule selects now, with a sample of
// their ids. The rule is checked first.
func (s *Segments) PreviewRule(ctx context.Context, raw json.RawMessage) (Preview, error) {
	r, err := s.CheckRule(ctx, raw)
	if err != nil {
		return Preview{}, err
	}
	now := s.now()
	n, err := s.Count(ctx, r, now)
	if err != nil {
		return Preview{}, err
	}
	sample, err := s.PageIDs(ctx, s.db, r, now, "", "", 20)
	if err != nil {
		return Preview{}, err
	}
	return Preview{Count: n, Sample: sample, AsOf: now}, nil
}

// PreviewSegment previews a stored segment.
func (s *Segments) PreviewSegment(ctx context.Context, id string) (Preview, error) {
	seg, err := s.Segment(ctx, id)
	if err != nil {
		return Preview{}, err
	}
	return s.PreviewRule(ctx, seg.Rule)
}

// membersWhere is the one query of a rule: members AS m under its
// condition.
func membersWhere(db bun.IDB, r Rule, asOf time.Time, run string) *bun.SelectQuery {
	cond, args := compileRule(db, r, asOf, run)
	return db.NewSelect().TableExpr("members AS m").Where(cond, args...)
}

// Count returns how many members r selects at asOf.
func (s *Segments) Count(ctx context.Context, r Rule, asOf time.Time) (int, error) {
	n, err := membersWhere(s.db, r, asOf, "").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count segment: %w", err)
	}
	return int(n), nil
}

// PageIDs returns up to limit ids of members r selects at asOf, in id
// order, after the id after. run is the campaign run planning the page,
// if any (see not_targeted_by).
func (s *Segments) PageIDs(ctx context.Context, db bun.IDB, r Rule, asOf time.Time, run, after string, limit int) ([]string, error) {
	q := membersWhere(db, r, asOf, run).Column("m.id")
	if after != "" {
		q = q.Where("m.id > ?", after)
	}
	var ids []string
	if err := q.OrderExpr("m.id").Limit(int64(limit)).Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("select segment page: %w", err)
	}
	return ids, nil
}
