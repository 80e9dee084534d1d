package staff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// ErrInvalidEntry is an audit entry without an action or object.
var ErrInvalidEntry = errors.New("staff: an audit entry needs an action, an object type and an object ID")

// Entry is one staff action for the audit log.
type Entry struct {
	// StaffID is who did it; "" is the command line or the system.
	StaffID string
	// Action is what was done, "area.verb" style: "show.start",
	// "order.refund", "staff.create".
	Action string
	// ObjectType and ObjectID name what it was done to.
	ObjectType string
	ObjectID   string
	// Detail is marshalled to JSON; nil stores {}. Never put secrets here.
	Detail any
	// At is when; zero means now.
	At time.Time
}

// auditRow is a row of audit_log.
type auditRow struct {
	bun.BaseModel `bun:"table:audit_log,alias:a"`

	ID         string    `bun:"id,pk"`
	StaffID    string    `bun:"staff_id,notnull"`
	Action     string    `bun:"action,notnull"`
	ObjectType string    `bun:"object_type,notnull"`
	ObjectID   string    `bun:"object_id,notnull"`
	Detail     string    `bun:"detail,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// Record adds e to the audit log through db. Call it with the transaction
// of the change it records, so the entry exists exactly when the change
// does.
func Record(ctx context.Context, db bun.IDB, e Entry) error {
	if e.Action == "" || e.ObjectType == "" || e.ObjectID == "" {
		return ErrInvalidEntry
	}
	detail := []byte("{}")
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("staff: audit detail: %w", err)
		}
		detail = b
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	row := auditRow{ID: uuid.Must(uuid.NewV7()).String(), StaffID: e.StaffID, Action: e.Action,
		ObjectType: e.ObjectType, ObjectID: e.ObjectID, Detail: string(detail), CreatedAt: at.UTC()}
	if _, err := db.NewInsert().Model(&row).Exec(ctx); err != nil {
		return fmt.Errorf("staff: record audit entry: %w", err)
	}
	return nil
}

// AuditQuery filters the audit log. Empty fields do not filter.
type AuditQuery struct {
	StaffID    string
	Action     string
	ObjectType string
	ObjectID   string
	// Before is an entry ID: only older entries are returned (paging).
	Before string
	// Limit is at most 200; 50 when zero.
	Limit int
}

// AuditEntry is a recorded staff action.
type AuditEntry struct {
	ID         string
	StaffID    string
	StaffName  string // "" for the command line or a deleted account
	Action     string
	ObjectType string
	ObjectID   string
	Detail     json.RawMessage
	At         time.Time
}

// Audit returns audit entries matching q, newest first.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	var rows []struct {
		auditRow
		StaffName string `bun:"staff_name"`
	}
	sel := s.db.NewSelect().Model((*auditRow)(nil)).
		ColumnExpr("a.*").
		ColumnExpr("COALESCE(sa.name, '') AS staff_name").
		Join("LEFT JOIN staff_accounts AS sa ON sa.id = a.staff_id").
		OrderExpr("a.id DESC").Limit(int64(limit))
	for col, v := range map[string]string{"a.staff_id": q.StaffID, "a.action": q.Action, "a.object_type": q.ObjectType, "a.object_id": q.ObjectID} {
		if v != "" {
			sel = sel.Where(col+" = ?", v)
		}
	}
	if q.Before != "" {
		sel = sel.Where("a.id < ?", q.Before)
	}
	if err := sel.Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("staff: audit log: %w", err)
	}
	out := make([]AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = AuditEntry{ID: r.ID, StaffID: r.StaffID, StaffName: r.StaffName, Action: r.Action,
			ObjectType: r.ObjectType, ObjectID: r.ObjectID, Detail: json.RawMessage(r.Detail), At: r.CreatedAt.UTC()}
	}
	return out, nil
}
