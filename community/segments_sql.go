package community

import (
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// A rule compiles to one condition on "members AS m": every predicate is
// a column test or a correlated EXISTS / scalar subquery on the table that
// holds the behaviour, written in the SQL both PostgreSQL and SQLite speak.
// The one difference, the length of a viewer session in seconds, is the
// only dialect switch. Relative times ("in 30 days") count back from the
// moment the rule is evaluated at (asOf), so every chunk of a campaign run
// sees the same segment.

// ruleSQL is a compiled condition and its arguments, for bun's Where.
type ruleSQL struct {
	pg   bool
	asOf time.Time
	// run, when set, is the campaign run being planned: not_targeted_by
	// ignores its own deliveries, so planning a chunk again finds the
	// same members.
	run  string
	b    strings.Builder
	args []any
}

// compileRule returns the condition for r on members AS m.
func compileRule(db bun.IDB, r Rule, asOf time.Time, run string) (string, []any) {
	c := &ruleSQL{pg: database.IsPostgres(db), asOf: asOf.UTC(), run: run}
	c.rule(r)
	return c.b.String(), c.args
}

func (c *ruleSQL) w(sql string, args ...any) {
	c.b.WriteString(sql)
	c.args = append(c.args, args...)
}

// since is the moment "days" before asOf.
func (c *ruleSQL) since(days int64) time.Time {
	return c.asOf.AddDate(0, 0, -int(days))
}

// seconds is the length of viewer session v in seconds, open sessions
// counting until asOf.
func (c *ruleSQL) seconds() string {
	if c.pg {
		return "EXTRACT(EPOCH FROM (COALESCE(v.left_at, ?) - v.joined_at))"
	}
	return "((julianday(COALESCE(v.left_at, ?)) - julianday(v.joined_at)) * 86400.0)"
}

func (c *ruleSQL) rule(r Rule) {
	switch r.op {
	case "and", "or":
		c.w("(")
		for i, k := range r.kids {
			if i > 0 {
				c.w(" " + strings.ToUpper(r.op) + " ")
			}
			c.rule(k)
		}
		c.w(")")
	case "not":
		c.w("NOT (")
		c.rule(r.kids[0])
		c.w(")")
	case "watched_show":
		if min := r.num("min_seconds"); min > 0 {
			d := c.seconds()
			c.w("(SELECT COALESCE(SUM(CASE WHEN "+d+" > 0 THEN "+d+" ELSE 0 END), 0) FROM viewer_sessions v"+
				" WHERE v.show_id = ? AND v.identity = m.id AND v.joined_at IS NOT NULL) >= ?",
				c.asOf, c.asOf, r.str("show_id"), min)
			return
		}
		c.watched(r.str("show_id"))
	case "reserved":
		c.w("EXISTS (SELECT 1 FROM show_reservations r WHERE r.show_id = ? AND r.member_id = m.id)", r.str("show_id"))
	case "reserved_not_watched":
		c.w("(EXISTS (SELECT 1 FROM show_reservations r WHERE r.show_id = ? AND r.member_id = m.id) AND NOT ", r.str("show_id"))
		c.watched(r.str("show_id"))
		c.w(")")
	case "commented":
		c.w("EXISTS (SELECT 1 FROM comments cm WHERE cm.member_id = m.id")
		if id := r.str("show_id"); id != "" {
			c.w(" AND cm.show_id = ?", id)
		}
		if d := r.num("days"); d > 0 {
			c.w(" AND cm.created_at >= ?", c.since(d))
		}
		c.w(")")
	case "joined_group":
		c.w("(m.unionid <> '' AND EXISTS (SELECT 1 FROM wecom_group_members g WHERE g.unionid = m.unionid AND g.type = 2 AND g.left_at IS NULL")
		if id := r.str("chat_id"); id != "" {
			c.w(" AND g.chat_id = ?", id)
		}
		if d := r.num("within_days"); d > 0 {
			c.w(" AND g.joined_at >= ?", c.since(d))
		}
		c.w("))")
	case "wecom_contact":
		c.w("(m.unionid <> '' AND EXISTS (SELECT 1 FROM wecom_contacts w WHERE w.unionid = m.unionid AND w.removed_at IS NULL")
		if id := r.str("staff_userid"); id != "" {
			c.w(" AND w.staff_userid = ?", id)
		}
		c.w("))")
	case "converted_from_show":
		c.w("EXISTS (SELECT 1 FROM traffic_conversions t WHERE t.show_id = ? AND (t.member_id = m.id OR (m.unionid <> '' AND t.unionid = m.unionid)))", r.str("show_id"))
	case "invited_by":
		c.w("m.first_inviter_id = ?", r.str("member_id"))
	case "first_show":
		c.w("m.first_show_id = ?", r.str("show_id"))
	case "spent_over":
		c.w("(SELECT COALESCE(SUM(o.total - o.refunded), 0) FROM orders o WHERE o.member_id = m.id AND o.paid_at IS NOT NULL")
		if d := r.num("days"); d > 0 {
			c.w(" AND o.paid_at >= ?", c.since(d))
		}
		c.w(") > ?", r.num("fen"))
	case "paid_in":
		c.paid(r.num("days"))
	case "not_paid_in":
		c.w("NOT ")
		c.paid(r.num("days"))
	case "has_tag":
		c.w("EXISTS (SELECT 1 FROM member_tags mt WHERE mt.member_id = m.id AND mt.tag_id = ?)", r.str("tag_id"))
	case "joined_within":
		c.w("m.created_at >= ?", c.since(r.num("days")))
	case "has_phone":
		c.w("m.phone <> ''")
	case "has_coupon":
		c.w("EXISTS (SELECT 1 FROM coupons cp WHERE cp.member_id = m.id")
		if id := r.str("template_id"); id != "" {
			c.w(" AND cp.template_id = ?", id)
		}
		switch st := r.str("status"); st {
		case "", CouponAvailable:
			c.w(" AND cp.status = ? AND cp.expires_at > ?", CouponAvailable, c.asOf)
		case CouponExpired:
			c.w(" AND (cp.status = ? OR (cp.status = ? AND cp.expires_at <= ?))", CouponExpired, CouponAvailable, c.asOf)
		default:
			c.w(" AND cp.status = ?", st)
		}
		c.w(")")
	case "consented":
		c.w("EXISTS (SELECT 1 FROM subscribe_consents sc WHERE sc.member_id = m.id AND sc.template_id = ? AND (sc.remaining > 0 OR sc.long_term = TRUE))", r.str("template_id"))
	case "not_targeted_by":
		// A delivery of one of the campaign's runs, looked up by the run's
		// primary key (run_id, channel, member_id): naming every channel
		// lets the database seek each key instead of reading the run. The
		// member is matched in WHERE, not in the join's ON, so PostgreSQL
		// makes the NOT EXISTS an anti-join (hashing the campaign's
		// deliveries when many members are asked about) rather than a
		// subquery run once a member.
		c.w("NOT EXISTS (SELECT 1 FROM campaign_runs cr JOIN campaign_deliveries cd ON cd.run_id = cr.id"+
			" WHERE cr.campaign_id = ? AND cd.channel IN (?) AND cd.member_id = m.id",
			r.str("campaign_id"), bun.In(deliveryChannels))
		if c.run != "" {
			c.w(" AND cr.id <> ?", c.run)
		}
		if d := r.num("days"); d > 0 {
			c.w(" AND cr.started_at >= ?", c.since(d))
		}
		c.w(")")
	case "":
		// The zero Rule selects nobody.
		c.w("1 = 0")
	default:
		// ParseRule admits only the predicates above.
		panic("community: compile unknown predicate " + r.op)
	}
}

func (c *ruleSQL) watched(showID string) {
	c.w("EXISTS (SELECT 1 FROM viewer_sessions v WHERE v.show_id = ? AND v.identity = m.id AND v.joined_at IS NOT NULL)", showID)
}

func (c *ruleSQL) paid(days int64) {
	c.w("EXISTS (SELECT 1 FROM orders o WHERE o.member_id = m.id AND o.paid_at IS NOT NULL")
	if days > 0 {
		c.w(" AND o.paid_at >= ?", c.since(days))
	}
	c.w(")")
}
