package community_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/testsupport"
)

func TestParseRuleRefusals(t *testing.T) {
	cases := []struct {
		name, rule, path, problem string
	}{
		{"empty", ``, "", "a rule is required"},
		{"not json", `{"and": [`, "", "not JSON"},
		{"not an object", `[1]`, "", "must be an object"},
		{"two keys", `{"and": [], "or": []}`, "", "exactly one key"},
		{"empty and", `{"and": []}`, "and", "at least one rule"},
		{"and of not list", `{"or": {"has_phone": {}}}`, "or", "must be a list"},
		{"unknown predicate", `{"and": [{"has_phone": {}}, {"bought_socks": {}}]}`, "and[1].bought_socks", "unknown predicate"},
		{"missing param", `{"watched_show": {"min_seconds": 300}}`, "watched_show.show_id", "is required"},
		{"negative", `{"watched_show": {"show_id": "s", "min_seconds": -1}}`, "watched_show.min_seconds", "cannot be negative"},
		{"fraction", `{"spent_over": {"fen": 1.5}}`, "spent_over.fen", "whole number"},
		{"string number", `{"spent_over": {"fen": "50000"}}`, "spent_over.fen", "whole number"},
		{"zero days", `{"not_paid_in": {"days": 0}}`, "not_paid_in.days", "at least 1"},
		{"unknown param", `{"not": {"has_tag": {"tag_id": "t", "color": "red"}}}`, "not.has_tag.color", "unknown parameter"},
		{"param of none", `{"has_phone": {"x": 1}}`, "has_phone.x", "takes none"},
		{"empty id", `{"reserved": {"show_id": "  "}}`, "reserved.show_id", "non-empty id"},
		{"bad status", `{"has_coupon": {"status": "lost"}}`, "has_coupon.status", "must be one of"},
		{"deep path", `{"or": [{"has_phone": {}}, {"and": [{"not": {"paid_in": {"days": "x"}}}]}]}`, "or[1].and[0].not.paid_in.days", "whole number"},
		{"too many days", `{"paid_in": {"days": 40000}}`, "paid_in.days", "at most 36500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := community.ParseRule([]byte(c.rule))
			var re *community.RuleError
			if !errors.As(err, &re) || !errors.Is(err, community.ErrInvalidRule) {
				t.Fatalf("ParseRule(%s) = %v, want a *RuleError", c.rule, err)
			}
			if re.Path != c.path || !strings.Contains(re.Problem, c.problem) {
				t.Fatalf("error at %q: %q; want at %q: …%s…", re.Path, re.Problem, c.path, c.problem)
			}
		})
	}
}

func TestParseRuleRoundTrip(t *testing.T) {
	in := `{"and":[{"watched_show":{"show_id":"s1","min_seconds":300}},{"not":{"paid_in":{"days":30}}},{"or":[{"has_phone":{}},{"invited_by":{"member_id":"m1"}}]}]}`
	r, err := community.ParseRule([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := community.ParseRule(b)
	if err != nil {
		t.Fatalf("re-parse %s: %v", b, err)
	}
	b2, _ := again.MarshalJSON()
	if string(b) != string(b2) {
		t.Fatalf("round trip changed the rule: %s then %s", b, b2)
	}
}

// segmentFixture seeds members with known behaviour; asOf is "now".
func segmentFixture(t *testing.T, db *bun.DB, asOf time.Time) {
	day := 24 * time.Hour
	old := asOf.Add(-300 * day)
	for _, m := range []fxMember{
		{ID: "m1", UnionID: "u1", CreatedAt: old},
		{ID: "m2", UnionID: "u2", CreatedAt: old},
		{ID: "m3", Phone: "13800138000", CreatedAt: old},
		{ID: "m4", Inviter: "m1", CreatedAt: old},
		{ID: "m5", Inviter: "m1", CreatedAt: old},
		{ID: "m6", FirstShow: "s1", CreatedAt: old},
		{ID: "m7", Nickname: "小红", CreatedAt: asOf.Add(-2 * day)},
		{ID: "m8", CreatedAt: asOf.Add(-6 * day)},
	} {
		fxAddMember(t, db, m)
	}
	fxAddShow(t, db, "s1", "ended", asOf.Add(-3*day))
	fxAddShow(t, db, "s2", "ended", asOf.Add(-1*day))
	start := asOf.Add(-3 * day)
	fxWatch(t, db, "s1", "m1", "p1", start, tptr(start.Add(400*time.Second)))
	fxWatch(t, db, "s1", "m2", "p2", start, tptr(start.Add(100*time.Second)))
	fxWatch(t, db, "s1", "m2", "p3", start.Add(time.Hour), tptr(start.Add(time.Hour+250*time.Second)))
	fxWatch(t, db, "s1", "m3", "p4", asOf.Add(-200*time.Second), nil) // still watching: 200s so far
	fxExec(t, db, `INSERT INTO viewer_sessions (show_id, identity, participant_sid, updated_at) VALUES ('s1', 'm4', 'p5', ?)`, start)
	for _, m := range []string{"m1", "m5", "m6"} {
		fxReserve(t, db, "s1", m, start.Add(-day))
	}
	fxOrder(t, db, "o1", "m1", 40000, 0, tptr(asOf.Add(-5*day)), asOf.Add(-5*day))
	fxOrder(t, db, "o2", "m2", 60000, 0, tptr(asOf.Add(-100*day)), asOf.Add(-100*day))
	fxOrder(t, db, "o3", "m3", 30000, 5000, tptr(asOf.Add(-10*day)), asOf.Add(-10*day))
	fxOrder(t, db, "o4", "m3", 30000, 0, tptr(asOf.Add(-10*day)), asOf.Add(-10*day))
	fxOrder(t, db, "o5", "m4", 100000, 0, nil, asOf.Add(-day))
	fxComment(t, db, "c1", "s2", "m8", asOf.Add(-day))
	fxExec(t, db, `INSERT INTO wecom_group_members (chat_id, user_id, type, unionid, joined_at, updated_at) VALUES ('wrC1', 'wmA', 2, 'u1', ?, ?)`, asOf.Add(-day), asOf)
	fxExec(t, db, `INSERT INTO wecom_group_members (chat_id, user_id, type, unionid, joined_at, left_at, updated_at) VALUES ('wrC1', 'wmB', 2, 'u2', ?, ?, ?)`, asOf.Add(-9*day), asOf.Add(-day), asOf)
	fxExec(t, db, `INSERT INTO wecom_groups (chat_id, name, created_at, synced_at) VALUES ('wrC1', 'g', ?, ?)`, old, asOf)
	fxExec(t, db, `INSERT INTO wecom_contacts (external_userid, staff_userid, unionid, added_at, updated_at) VALUES ('wmB', 'zhangsan', 'u2', ?, ?)`, asOf.Add(-day), asOf)
	fxExec(t, db, `INSERT INTO traffic_conversions (id, kind, external_userid, target, unionid, source, show_id, occurred_at, created_at)
		VALUES ('cv1', 'group_join', 'wmB', 'wrC1', 'u2', 'join_way', 's1', ?, ?)`, asOf.Add(-9*day), asOf)
	fxExec(t, db, `INSERT INTO tags (id, name, kind, created_by, created_at, updated_at) VALUES ('t1', 'vip', 'manual', 'x', ?, ?)`, old, old)
	fxExec(t, db, `INSERT INTO member_tags (member_id, tag_id, source, created_at) VALUES ('m7', 't1', 'manual', ?)`, old)
	fxExec(t, db, `INSERT INTO coupon_templates (id, name, kind, amount_off, valid_days, total_stock, per_member_limit, created_by, created_at, updated_at)
		VALUES ('ct1', 'ten off', 'no_threshold', 1000, 30, 100, 5, 'x', ?, ?)`, old, old)
	fxExec(t, db, `INSERT INTO coupons (id, template_id, member_id, source, status, valid_from, expires_at, granted_at, updated_at)
		VALUES ('cp1', 'ct1', 'm5', 'staff', 'available', ?, ?, ?, ?), ('cp2', 'ct1', 'm6', 'staff', 'available', ?, ?, ?, ?)`,
		old, asOf.Add(day), old, old, old, asOf.Add(-day), old, old)
	fxConsent(t, db, "m1", "tpl", 1, false, old)
	fxConsent(t, db, "m2", "tpl", 0, false, old)
	fxConsent(t, db, "m3", "tpl", 0, true, old)
	fxExec(t, db, `INSERT INTO campaigns (id, name, actions, schedule, status, created_by, created_at, updated_at) VALUES ('cmp1', 'c', '{}', 'now', 'completed', 'x', ?, ?)`, old, old)
	fxExec(t, db, `INSERT INTO campaign_runs (id, campaign_id, occurrence, rule, actions, as_of, status, started_at, updated_at) VALUES ('run1', 'cmp1', 'o', '{}', '{}', ?, 'completed', ?, ?)`, asOf.Add(-40*day), asOf.Add(-40*day), asOf.Add(-40*day))
	fxExec(t, db, `INSERT INTO campaign_deliveries (run_id, channel, member_id, state, updated_at) VALUES ('run1', 'coupon', 'm1', 'sent', ?)`, asOf.Add(-40*day))
	fxExec(t, db, `INSERT INTO campaigns (id, name, actions, schedule, status, created_by, created_at, updated_at) VALUES ('cmp2', 'c', '{}', 'now', 'completed', 'x', ?, ?)`, old, old)
	fxExec(t, db, `INSERT INTO campaign_runs (id, campaign_id, occurrence, rule, actions, as_of, status, started_at, updated_at) VALUES ('run2', 'cmp2', 'o', '{}', '{}', ?, 'completed', ?, ?)`, asOf.Add(-day), asOf.Add(-day), asOf.Add(-day))
	fxExec(t, db, `INSERT INTO campaign_deliveries (run_id, channel, member_id, state, updated_at) VALUES ('run2', 'subscribe', 'm2', 'skipped', ?), ('run2', 'wecom', 'm3', 'sent', ?)`, asOf.Add(-day), asOf.Add(-day))
}

func TestSegmentRulesInSQL(t *testing.T) {
	asOf := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, rule string
		want       []string
	}{
		{"watched any time", `{"watched_show":{"show_id":"s1"}}`, []string{"m1", "m2", "m3"}},
		{"watched 5 minutes over two sessions", `{"watched_show":{"show_id":"s1","min_seconds":300}}`, []string{"m1", "m2"}},
		{"open session counts until now", `{"watched_show":{"show_id":"s1","min_seconds":200}}`, []string{"m1", "m2", "m3"}},
		{"watched and not paid in 30 days", `{"and":[{"watched_show":{"show_id":"s1","min_seconds":300}},{"not_paid_in":{"days":30}}]}`, []string{"m2"}},
		{"reserved", `{"reserved":{"show_id":"s1"}}`, []string{"m1", "m5", "m6"}},
		{"reserved but did not watch", `{"reserved_not_watched":{"show_id":"s1"}}`, []string{"m5", "m6"}},
		{"joined group", `{"joined_group":{"chat_id":"wrC1"}}`, []string{"m1"}},
		{"joined any group lately", `{"joined_group":{"within_days":3}}`, []string{"m1"}},
		{"wecom contact", `{"wecom_contact":{}}`, []string{"m2"}},
		{"converted from show", `{"converted_from_show":{"show_id":"s1"}}`, []string{"m2"}},
		{"invited by", `{"invited_by":{"member_id":"m1"}}`, []string{"m4", "m5"}},
		{"first show", `{"first_show":{"show_id":"s1"}}`, []string{"m6"}},
		{"spent over ¥500 in 90 days", `{"spent_over":{"fen":50000,"days":90}}`, []string{"m3"}},
		{"spent over ¥500 ever", `{"spent_over":{"fen":50000}}`, []string{"m2", "m3"}},
		{"paid ever", `{"paid_in":{}}`, []string{"m1", "m2", "m3"}},
		{"not paid in 30 days", `{"not_paid_in":{"days":30}}`, []string{"m2", "m4", "m5", "m6", "m7", "m8"}},
		{"has tag", `{"has_tag":{"tag_id":"t1"}}`, []string{"m7"}},
		{"new members", `{"joined_within":{"days":7}}`, []string{"m7", "m8"}},
		{"has phone", `{"has_phone":{}}`, []string{"m3"}},
		{"has available coupon", `{"has_coupon":{"template_id":"ct1"}}`, []string{"m5"}},
		{"has expired coupon", `{"has_coupon":{"status":"expired"}}`, []string{"m6"}},
		{"commented", `{"commented":{"show_id":"s2","days":2}}`, []string{"m8"}},
		{"consented", `{"consented":{"template_id":"tpl"}}`, []string{"m1", "m3"}},
		{"not targeted in 30 days", `{"and":[{"paid_in":{}},{"not_targeted_by":{"campaign_id":"cmp1","days":30}}]}`, []string{"m1", "m2", "m3"}},
		{"not targeted ever", `{"and":[{"paid_in":{}},{"not_targeted_by":{"campaign_id":"cmp1"}}]}`, []string{"m2", "m3"}},
		{"not targeted on any channel", `{"and":[{"paid_in":{}},{"not_targeted_by":{"campaign_id":"cmp2"}}]}`, []string{"m1"}},
		{"or and not", `{"or":[{"has_phone":{}},{"and":[{"invited_by":{"member_id":"m1"}},{"not":{"reserved":{"show_id":"s1"}}}]}]}`, []string{"m3", "m4"}},
	}
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		segmentFixture(t, db, asOf)
		seg, err := community.NewSegments(community.SegmentsConfig{DB: db, Now: func() time.Time { return asOf }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				p, err := seg.PreviewRule(ctx, []byte(c.rule))
				if err != nil {
					t.Fatal(err)
				}
				if p.Count != len(c.want) || !slices.Equal(p.Sample, c.want) {
					t.Fatalf("count %d, members %v; want %v", p.Count, p.Sample, c.want)
				}
			})
		}
	})
}

func TestCheckRuleNamesMissingObjects(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		asOf := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		segmentFixture(t, db, asOf)
		seg, _ := community.NewSegments(community.SegmentsConfig{DB: db, Now: func() time.Time { return asOf }})
		for rule, path := range map[string]string{
			`{"and":[{"has_phone":{}},{"watched_show":{"show_id":"nope"}}]}`: "and[1].watched_show.show_id",
			`{"not":{"has_tag":{"tag_id":"nope"}}}`:                          "not.has_tag.tag_id",
			`{"joined_group":{"chat_id":"nope"}}`:                            "joined_group.chat_id",
			`{"invited_by":{"member_id":"nope"}}`:                            "invited_by.member_id",
			`{"not_targeted_by":{"campaign_id":"nope"}}`:                     "not_targeted_by.campaign_id",
		} {
			_, err := seg.CheckRule(context.Background(), []byte(rule))
			var re *community.RuleError
			if !errors.As(err, &re) || re.Path != path || !strings.Contains(re.Problem, `"nope"`) {
				t.Errorf("CheckRule(%s) = %v; want a RuleError at %s naming the id", rule, err, path)
			}
		}
	})
}

func TestSegmentsAndTags(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
		segmentFixture(t, db, clk.Now())
		seg, _ := community.NewSegments(community.SegmentsConfig{DB: db, Now: clk.Now})

		s, err := seg.CreateSegment(ctx, "staff1", community.SegmentInput{Name: "big spenders", Rule: []byte(`{"spent_over": {"fen": 50000}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := seg.CreateSegment(ctx, "staff1", community.SegmentInput{Name: "big spenders", Rule: []byte(`{"has_phone":{}}`)}); !errors.Is(err, community.ErrNameTaken) {
			t.Fatalf("same name again: %v", err)
		}
		if _, err := seg.CreateSegment(ctx, "staff1", community.SegmentInput{Name: "bad", Rule: []byte(`{"spent_over":{}}`)}); !errors.Is(err, community.ErrInvalidRule) {
			t.Fatalf("bad rule: %v", err)
		}
		p, err := seg.PreviewSegment(ctx, s.ID)
		if err != nil || p.Count != 2 {
			t.Fatalf("preview = %+v, %v", p, err)
		}

		// A rule tag holds what its rule selects, and follows it.
		tag, err := seg.CreateTag(ctx, "staff1", community.TagInput{Name: "phone", Kind: community.TagRule, Rule: []byte(`{"has_phone":{}}`)})
		if err != nil {
			t.Fatal(err)
		}
		if tag.Members != 1 || tag.EvaluatedAt == nil {
			t.Fatalf("rule tag after create: %+v", tag)
		}
		fxExec(t, db, `UPDATE members SET phone = '13900139000' WHERE id IN ('m4', 'm5')`)
		fxExec(t, db, `UPDATE members SET phone = '' WHERE id = 'm3'`)
		if tag, err = seg.EvaluateTag(ctx, tag.ID); err != nil || tag.Members != 2 {
			t.Fatalf("re-evaluated: %+v, %v", tag, err)
		}
		p, _ = seg.PreviewRule(ctx, []byte(`{"has_tag":{"tag_id":"`+tag.ID+`"}}`))
		if !slices.Equal(p.Sample, []string{"m4", "m5"}) {
			t.Fatalf("rule tag holds %v", p.Sample)
		}
		if _, err := seg.TagMembers(ctx, "staff1", tag.ID, []string{"m1"}); !errors.Is(err, community.ErrRuleTag) {
			t.Fatalf("tagging by hand with a rule tag: %v", err)
		}
		if _, err := seg.UpdateTag(ctx, "staff1", tag.ID, community.TagInput{Name: "phone", Rule: []byte(`{"has_tag":{"tag_id":"` + tag.ID + `"}}`)}); !errors.Is(err, community.ErrInvalidRule) {
			t.Fatalf("self-referencing rule tag: %v", err)
		}

		manual, err := seg.CreateTag(ctx, "staff1", community.TagInput{Name: "met at fair", Kind: community.TagManual})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := seg.TagMembers(ctx, "staff1", manual.ID, []string{"m1", "m2", "m1"}); err != nil || n != 2 {
			t.Fatalf("tag members = %d, %v", n, err)
		}
		if _, err := seg.TagMembers(ctx, "staff1", manual.ID, []string{"ghost"}); !errors.Is(err, community.ErrMemberNotFound) {
			t.Fatalf("unknown member: %v", err)
		}
		if n, err := seg.UntagMembers(ctx, "staff1", manual.ID, []string{"m2"}); err != nil || n != 1 {
			t.Fatalf("untag = %d, %v", n, err)
		}
		tags, err := seg.MemberTags(ctx, "m1")
		if err != nil || len(tags) != 1 || tags[0].ID != manual.ID || tags[0].Members != 1 {
			t.Fatalf("tags of m1 = %+v, %v", tags, err)
		}
		page, err := seg.ListMembers(ctx, community.MemberFilter{TagID: manual.ID})
		if err != nil || len(page.Members) != 1 || page.Members[0].ID != "m1" {
			t.Fatalf("members with tag = %+v, %v", page, err)
		}
		page, err = seg.ListMembers(ctx, community.MemberFilter{SegmentID: s.ID})
		if err != nil || len(page.Members) != 2 {
			t.Fatalf("members of segment = %+v, %v", page, err)
		}
		page, err = seg.ListMembers(ctx, community.MemberFilter{Query: "小红"})
		if err != nil || len(page.Members) != 1 || page.Members[0].ID != "m7" {
			t.Fatalf("search by nickname = %+v, %v", page, err)
		}
		page, err = seg.ListMembers(ctx, community.MemberFilter{Query: "9000"})
		if err != nil || len(page.Members) != 2 || page.Members[0].Phone != "139****9000" {
			t.Fatalf("search by phone = %+v, %v", page, err)
		}
		page, err = seg.ListMembers(ctx, community.MemberFilter{Limit: 3})
		if err != nil || len(page.Members) != 3 || page.Next != "m3" {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		page, err = seg.ListMembers(ctx, community.MemberFilter{Limit: 3, After: page.Next})
		if err != nil || page.Members[0].ID != "m4" {
			t.Fatalf("second page = %+v, %v", page, err)
		}
	})
}
