package live

import (
	"context"

	"github.com/uptrace/bun"
)

// AuditEntry is a staff action for the audit log.
type AuditEntry struct {
	StaffID string
	// Action is "show.create", "show.start", "show.action.pin_product", …
	Action string
	// ObjectType and ObjectID name what it was done to ("show" and its id).
	ObjectType string
	ObjectID   string
	Detail     any
}

// Audit records a staff action through db, the transaction of the change
// it records (the identity area's audit log; app wires staff.Record).
type Audit func(ctx context.Context, db bun.IDB, e AuditEntry) error

// audit records e when an audit log is connected.
func (s *Service) audit(ctx context.Context, db bun.IDB, e AuditEntry) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit(ctx, db, e)
}

// showAudit is an audit entry about a show.
func showAudit(staffID, action, showID string, detail any) AuditEntry {
	return AuditEntry{StaffID: staffID, Action: action, ObjectType: "show", ObjectID: showID, Detail: detail}
}
