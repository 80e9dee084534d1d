package community

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Tag errors.
var (
	// ErrTagNotFound is returned for an unknown tag.
	ErrTagNotFound = errors.New("tag not found")
	// ErrInvalidTag is wrapped by errors about a tag's fields.
	ErrInvalidTag = errors.New("invalid tag")
	// ErrRuleTag is returned when staff put a rule tag on members by hand.
	ErrRuleTag = errors.New("a rule tag is put on members by its rule, not by hand")
)

// TaskEvaluateRuleTags (periodic) evaluates every rule tag again.
const TaskEvaluateRuleTags = "community:evaluate-rule-tags"

// Tag kinds.
const (
	TagManual = "manual"
	TagRule   = "rule"
)

// Tag labels members: by hand (manual) or by a segment rule evaluated
// periodically (rule), which then holds exactly the members the rule
// selected at EvaluatedAt.
type Tag struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Kind        string          `json:"kind" enum:"manual,rule"`
	Rule        json.RawMessage `json:"rule,omitempty"`
	Description string          `json:"description"`
	Members     int             `json:"members"`
	EvaluatedAt *time.Time      `json:"evaluated_at,omitempty"`
	CreatedBy   string          `json:"created_by"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// TagInput is what staff give for a tag. Rule is required for a rule tag
// and refused for a manual one.
type TagInput struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind" enum:"manual,rule"`
	Rule        json.RawMessage `json:"rule,omitempty"`
	Description string          `json:"description"`
}

type tagRow struct {
	bun.BaseModel `bun:"table:tags"`

	ID          string     `bun:"id,pk"`
	Name        string     `bun:"name,notnull"`
	Kind        string     `bun:"kind,notnull"`
	Rule        string     `bun:"rule,notnull"`
	Description string     `bun:"description,notnull"`
	Members     int        `bun:"members,notnull"`
	EvaluatedAt *time.Time `bun:"evaluated_at"`
	CreatedBy   string     `bun:"created_by,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	UpdatedAt   time.Time  `bun:"updated_at,notnull"`
}

func (r tagRow) tag() Tag {
	t := Tag{ID: r.ID, Name: r.Name, Kind: r.Kind, Description: r.Description, Members: r.Members,
		EvaluatedAt: utcPtr(r.EvaluatedAt), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.Rule != "" {
		t.Rule = json.RawMessage(r.Rule)
	}
	return t
}

type memberTagRow struct {
	bun.BaseModel `bun:"table:member_tags"`

	MemberID  string    `bun:"member_id,pk"`
	TagID     string    `bun:"tag_id,pk"`
	Source    string    `bun:"source,notnull"`
	CreatedBy string    `bun:"created_by,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// checkTag validates a tag input for the tag id (empty for a new tag) and
// returns the rule text to store.
func (s *Segments) checkTag(ctx context.Context, id string, in *TagInput) (string, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case in.Name == "" || len([]rune(in.Name)) > 40:
		return "", fmt.Errorf("%w: name must be 1 to 40 characters", ErrInvalidTag)
	case len([]rune(in.Description)) > 500:
		return "", fmt.Errorf("%w: description must be at most 500 characters", ErrInvalidTag)
	}
	hasRule := len(in.Rule) > 0 && string(in.Rule) != "null"
	switch in.Kind {
	case TagManual:
		if hasRule {
			return "", fmt.Errorf("%w: a manual tag has no rule", ErrInvalidTag)
		}
		return "", nil
	case TagRule:
		r, err := s.CheckRule(ctx, in.Rule)
		if err != nil {
			return "", err
		}
		if id != "" {
			if err := r.walk("", func(p Rule, path string) error {
				if p.op == "has_tag" && p.str("tag_id") == id {
					return &RuleError{Path: rulePath(path, "tag_id"), Problem: "a rule tag cannot depend on itself"}
				}
				return nil
			}); err != nil {
				return "", err
			}
		}
		return ruleText(r), nil
	}
	return "", fmt.Errorf("%w: kind must be manual or rule", ErrInvalidTag)
}

// CreateTag stores a new tag; a rule tag is evaluated at once.
func (s *Segments) CreateTag(ctx context.Context, staffID string, in TagInput) (Tag, error) {
	rule, err := s.checkTag(ctx, "", &in)
	if err != nil {
		return Tag{}, err
	}
	now := s.now()
	row := tagRow{ID: newID(), Name: in.Name, Kind: in.Kind, Rule: rule, Description: in.Description, CreatedBy: staffID, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&row).On("CONFLICT (name) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("insert tag: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
		}
		return recordStaffAction(ctx, tx, staffID, "tag.create", "tag", row.ID, map[string]any{"name": row.Name, "kind": row.Kind})
	})
	if err != nil {
		return Tag{}, err
	}
	if row.Kind == TagRule {
		return s.EvaluateTag(ctx, row.ID)
	}
	return row.tag(), nil
}

// UpdateTag changes a tag's name, description and, for a rule tag, its
// rule (evaluated again at once). A tag's kind does not change.
func (s *Segments) UpdateTag(ctx context.Context, staffID, id string, in TagInput) (Tag, error) {
	cur, err := s.Tag(ctx, id)
	if err != nil {
		return Tag{}, err
	}
	if in.Kind == "" {
		in.Kind = cur.Kind
	}
	if in.Kind != cur.Kind {
		return Tag{}, fmt.Errorf("%w: a tag's kind cannot change; create another tag", ErrInvalidTag)
	}
	rule, err := s.checkTag(ctx, id, &in)
	if err != nil {
		return Tag{}, err
	}
	taken, err := s.db.NewSelect().Model((*tagRow)(nil)).Where("name = ? AND id <> ?", in.Name, id).Count(ctx)
	if err != nil {
		return Tag{}, fmt.Errorf("check tag name: %w", err)
	}
	if taken > 0 {
		return Tag{}, fmt.Errorf("%w: %q", ErrNameTaken, in.Name)
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*tagRow)(nil)).Set("name = ?", in.Name).Set("description = ?", in.Description).
			Set("rule = ?", rule).Set("updated_at = ?", s.now()).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("update tag: %w", err)
		}
		return recordStaffAction(ctx, tx, staffID, "tag.update", "tag", id, map[string]any{"name": in.Name})
	})
	if err != nil {
		return Tag{}, err
	}
	if cur.Kind == TagRule {
		return s.EvaluateTag(ctx, id)
	}
	return s.Tag(ctx, id)
}

// DeleteTag removes a tag from every member and deletes it.
func (s *Segments) DeleteTag(ctx context.Context, staffID, id string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*tagRow)(nil)).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete tag: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrTagNotFound
		}
		if _, err := tx.NewDelete().Model((*memberTagRow)(nil)).Where("tag_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return recordStaffAction(ctx, tx, staffID, "tag.delete", "tag", id, nil)
	})
}

// Tag returns a tag.
func (s *Segments) Tag(ctx context.Context, id string) (Tag, error) {
	var row tagRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Tag{}, ErrTagNotFound
		}
		return Tag{}, fmt.Errorf("read tag: %w", err)
	}
	return row.tag(), nil
}

// Tags lists every tag by name.
func (s *Segments) Tags(ctx context.Context) ([]Tag, error) {
	var rows []tagRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	out := make([]Tag, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.tag())
	}
	return out, nil
}

// MemberTags lists a member's tags by name.
func (s *Segments) MemberTags(ctx context.Context, memberID string) ([]Tag, error) {
	var rows []tagRow
	if err := s.db.NewSelect().Model(&rows).
		Where("id IN (SELECT tag_id FROM member_tags WHERE member_id = ?)", memberID).OrderExpr("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", memberID, err)
	}
	out := make([]Tag, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.tag())
	}
	return out, nil
}

// maxTagBatch bounds one tagging request.
const maxTagBatch = 10000

// TagMembers puts a manual tag on members (again is harmless) and returns
// how many got it now.
func (s *Segments) TagMembers(ctx context.Context, staffID, tagID string, memberIDs []string) (int, error) {
	if len(memberIDs) == 0 || len(memberIDs) > maxTagBatch {
		return 0, fmt.Errorf("%w: give 1 to %d member ids", ErrInvalidTag, maxTagBatch)
	}
	added := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.manualTag(ctx, tx, tagID)
		if err != nil {
			return err
		}
		var known []string
		if err := tx.NewSelect().Table("members").Column("id").Where("id IN (?)", bun.In(memberIDs)).Scan(ctx, &known); err != nil {
			return fmt.Errorf("find members: %w", err)
		}
		if len(known) < len(distinctIDs(memberIDs)) {
			return fmt.Errorf("%w: %d of the member ids are unknown", ErrMemberNotFound, len(distinctIDs(memberIDs))-len(known))
		}
		now := s.now()
		rows := make([]memberTagRow, 0, len(known))
		for _, m := range known {
			rows = append(rows, memberTagRow{MemberID: m, TagID: row.ID, Source: TagManual, CreatedBy: staffID, CreatedAt: now})
		}
		res, err := tx.NewInsert().Model(&rows).On("CONFLICT (member_id, tag_id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("tag members: %w", err)
		}
		n, _ := res.RowsAffected()
		added = int(n)
		if err := recordStaffAction(ctx, tx, staffID, "tag.add_members", "tag", row.ID, map[string]any{"members": len(known), "added": added}); err != nil {
			return err
		}
		return s.recount(ctx, tx, row.ID, nil)
	})
	return added, err
}

// UntagMembers takes a manual tag off members and returns how many lost it.
func (s *Segments) UntagMembers(ctx context.Context, staffID, tagID string, memberIDs []string) (int, error) {
	if len(memberIDs) == 0 || len(memberIDs) > maxTagBatch {
		return 0, fmt.Errorf("%w: give 1 to %d member ids", ErrInvalidTag, maxTagBatch)
	}
	removed := 0
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.manualTag(ctx, tx, tagID); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*memberTagRow)(nil)).Where("tag_id = ? AND member_id IN (?)", tagID, bun.In(memberIDs)).Exec(ctx)
		if err != nil {
			return fmt.Errorf("untag members: %w", err)
		}
		n, _ := res.RowsAffected()
		removed = int(n)
		if err := recordStaffAction(ctx, tx, staffID, "tag.remove_members", "tag", tagID, map[string]any{"removed": removed}); err != nil {
			return err
		}
		return s.recount(ctx, tx, tagID, nil)
	})
	return removed, err
}

func (s *Segments) manualTag(ctx context.Context, tx bun.IDB, id string) (tagRow, error) {
	var row tagRow
	if err := database.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return row, ErrTagNotFound
		}
		return row, fmt.Errorf("read tag: %w", err)
	}
	if row.Kind != TagManual {
		return row, ErrRuleTag
	}
	return row, nil
}

// recount stores how many members hold a tag (and, when at is set, when
// its rule was evaluated).
func (s *Segments) recount(ctx context.Context, tx bun.IDB, tagID string, at *time.Time) error {
	n, err := tx.NewSelect().Model((*memberTagRow)(nil)).Where("tag_id = ?", tagID).Count(ctx)
	if err != nil {
		return fmt.Errorf("count tag members: %w", err)
	}
	q := tx.NewUpdate().Model((*tagRow)(nil)).Set("members = ?", n).Where("id = ?", tagID)
	if at != nil {
		q = q.Set("evaluated_at = ?", *at)
	}
	_, err = q.Exec(ctx)
	return err
}

// EvaluateTag makes a rule tag hold exactly the members its rule selects
// now: one INSERT … SELECT for the members who match and do not have it,
// one DELETE for those who have it and no longer match.
func (s *Segments) EvaluateTag(ctx context.Context, id string) (Tag, error) {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row tagRow
		if err := database.ForUpdate(tx.NewSelect().Model(&row).Where("id = ?", id)).Scan(ctx); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrTagNotFound
			}
			return fmt.Errorf("read tag: %w", err)
		}
		if row.Kind != TagRule {
			return nil
		}
		r, err := ParseRule([]byte(row.Rule))
		if err != nil {
			return fmt.Errorf("stored rule of tag %s: %w", id, err)
		}
		now := s.now()
		cond, args := compileRule(tx, r, now, "")
		del := "DELETE FROM member_tags WHERE tag_id = ? AND member_id NOT IN (SELECT m.id FROM members AS m WHERE " + cond + ")"
		if _, err := tx.NewRaw(del, append([]any{id}, args...)...).Exec(ctx); err != nil {
			return fmt.Errorf("untag members no longer matching: %w", err)
		}
		ins := "INSERT INTO member_tags (member_id, tag_id, source, created_by, created_at) SELECT m.id, ?, ?, '', ? FROM members AS m WHERE " +
			cond + " AND NOT EXISTS (SELECT 1 FROM member_tags x WHERE x.member_id = m.id AND x.tag_id = ?)"
		insArgs := append(append([]any{id, TagRule, now}, args...), id)
		if _, err := tx.NewRaw(ins, insArgs...).Exec(ctx); err != nil {
			return fmt.Errorf("tag members now matching: %w", err)
		}
		return s.recount(ctx, tx, id, &now)
	})
	if err != nil {
		return Tag{}, err
	}
	return s.Tag(ctx, id)
}

// EvaluateRuleTags evaluates every rule tag and returns how many it
// evaluated; one failing does not stop the others.
func (s *Segments) EvaluateRuleTags(ctx context.Context) (int, error) {
	var ids []string
	if err := s.db.NewSelect().Model((*tagRow)(nil)).Column("id").Where("kind = ?", TagRule).OrderExpr("name").Scan(ctx, &ids); err != nil {
		return 0, fmt.Errorf("list rule tags: %w", err)
	}
	var errs []error
	done := 0
	for _, id := range ids {
		if _, err := s.EvaluateTag(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}

// distinctIDs returns the distinct values of list, in order.
func distinctIDs(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, v := range list {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
