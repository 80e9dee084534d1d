// Package staff is the brand's staff: accounts with roles, passwords
// hashed with argon2id, console sessions with lockout after repeated
// failures, and the audit log of staff actions.
//
// Other areas record what staff do with Record, inside the transaction of
// the change:
//
//	staff.Record(ctx, tx, staff.Entry{StaffID: actor, Action: "show.start",
//		ObjectType: "show", ObjectID: showID, Detail: map[string]any{"ingress": "rtmp"}})
package staff
