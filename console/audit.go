package console

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/staff"
)

// AuditLog reads the audit log of staff actions (*staff.Service).
type AuditLog interface {
	Audit(ctx context.Context, q staff.AuditQuery) ([]staff.AuditEntry, error)
}

// auditRequest filters GET /audit.
type auditRequest struct {
	StaffID    string `query:"staff_id" description:"Only this staff member's actions."`
	Action     string `query:"action" description:"Only this action, such as staff.sign_in."`
	ObjectType string `query:"object_type"`
	ObjectID   string `query:"object_id"`
	Before     string `query:"before" description:"The next value of the previous page: older entries only."`
	Limit      int    `query:"limit" minimum:"1" maximum:"200" description:"At most 200; 50 by default."`
}

// auditEntry is one recorded staff action.
type auditEntry struct {
	ID         string    `json:"id"`
	StaffID    string    `json:"staff_id" description:"Empty for the command line and the system."`
	StaffName  string    `json:"staff_name"`
	Action     string    `json:"action"`
	ObjectType string    `json:"object_type"`
	ObjectID   string    `json:"object_id"`
	Detail     any       `json:"detail"`
	At         time.Time `json:"at"`
}

// auditPage is a page of the audit log, newest first.
type auditPage struct {
	Entries []auditEntry `json:"entries"`
	// Next is the before value of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// listAudit answers a page of the audit log.
func (a *API) listAudit(c *fiber.Ctx) error {
	limit := c.QueryInt("limit", 50)
	if limit < 1 || limit > 200 {
		return edge.BadRequest("invalid_limit", "limit is 1 to 200")
	}
	q := staff.AuditQuery{
		StaffID: c.Query("staff_id"), Action: c.Query("action"),
		ObjectType: c.Query("object_type"), ObjectID: c.Query("object_id"),
		Before: c.Query("before"), Limit: limit,
	}
	entries, err := a.audit.Audit(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := auditPage{Entries: make([]auditEntry, len(entries))}
	for i, e := range entries {
		var detail any
		if err := json.Unmarshal(e.Detail, &detail); err != nil {
			detail = map[string]any{}
		}
		out.Entries[i] = auditEntry{ID: e.ID, StaffID: e.StaffID, StaffName: e.StaffName, Action: e.Action,
			ObjectType: e.ObjectType, ObjectID: e.ObjectID, Detail: detail, At: e.At}
	}
	if len(entries) == limit {
		out.Next = entries[len(entries)-1].ID
	}
	return c.JSON(out)
}
