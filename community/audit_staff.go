package community

import (
	"context"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/staff"
)

// recordStaffAction adds a community staff action to the audit log
// through db, the transaction of the change. staffID "" is the command
// line or the system.
func recordStaffAction(ctx context.Context, db bun.IDB, staffID, action, objectType, objectID string, detail any) error {
	return staff.Record(ctx, db, staff.Entry{StaffID: staffID, Action: action, ObjectType: objectType, ObjectID: objectID, Detail: detail})
}
