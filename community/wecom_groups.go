package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// WeComGroupInfo is a customer group as Siyu keeps it.
type WeComGroupInfo struct {
	ChatID        string     `json:"chat_id"`
	Name          string     `json:"name"`
	Owner         string     `json:"owner"`
	Notice        string     `json:"notice"`
	MemberVersion string     `json:"member_version"`
	Members       int        `json:"members"`
	CreatedAt     time.Time  `json:"created_at"`
	SyncedAt      time.Time  `json:"synced_at"`
	GoneAt        *time.Time `json:"gone_at,omitempty"`
}

// WeComGroupPerson is a person in a customer group, linked to a member by
// unionid when Siyu knows them.
type WeComGroupPerson struct {
	ChatID    string     `json:"chat_id"`
	UserID    string     `json:"userid"`
	Type      int        `json:"type"`
	UnionID   string     `json:"unionid,omitempty"`
	MemberID  string     `json:"member_id,omitempty"`
	Name      string     `json:"name"`
	JoinScene int        `json:"join_scene"`
	State     string     `json:"state,omitempty"`
	JoinedAt  time.Time  `json:"joined_at"`
	LeftAt    *time.Time `json:"left_at,omitempty"`
}

type groupRow struct {
	bun.BaseModel `bun:"table:wecom_groups"`

	ChatID        string     `bun:"chat_id,pk"`
	Name          string     `bun:"name,notnull"`
	Owner         string     `bun:"owner,notnull"`
	Notice        string     `bun:"notice,notnull"`
	Status        int        `bun:"status,notnull"`
	MemberVersion string     `bun:"member_version,notnull"`
	Members       int        `bun:"members,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	SyncedAt      time.Time  `bun:"synced_at,notnull"`
	GoneAt        *time.Time `bun:"gone_at"`
}

func (r groupRow) info() WeComGroupInfo {
	return WeComGroupInfo{ChatID: r.ChatID, Name: r.Name, Owner: r.Owner, Notice: r.Notice, MemberVersion: r.MemberVersion,
		Members: r.Members, CreatedAt: r.CreatedAt.UTC(), SyncedAt: r.SyncedAt.UTC(), GoneAt: utcPtr(r.GoneAt)}
}

type groupMemberRow struct {
	bun.BaseModel `bun:"table:wecom_group_members,alias:g"`

	ChatID    string     `bun:"chat_id,pk"`
	UserID    string     `bun:"user_id,pk"`
	Type      int        `bun:"type,notnull"`
	UnionID   string     `bun:"unionid,notnull"`
	Name      string     `bun:"name,notnull"`
	JoinScene int        `bun:"join_scene,notnull"`
	Invitor   string     `bun:"invitor,notnull"`
	State     string     `bun:"state,notnull"`
	JoinedAt  time.Time  `bun:"joined_at,notnull"`
	LeftAt    *time.Time `bun:"left_at"`
	UpdatedAt time.Time  `bun:"updated_at,notnull"`
}

type contactRow struct {
	bun.BaseModel `bun:"table:wecom_contacts"`

	ExternalUserID string     `bun:"external_userid,pk"`
	StaffUserID    string     `bun:"staff_userid,pk"`
	UnionID        string     `bun:"unionid,notnull"`
	Name           string     `bun:"name,notnull"`
	State          string     `bun:"state,notnull"`
	AddedAt        time.Time  `bun:"added_at,notnull"`
	RemovedAt      *time.Time `bun:"removed_at"`
	UpdatedAt      time.Time  `bun:"updated_at,notnull"`
}

// SyncResult counts what a sync found.
type SyncResult struct {
	Groups  int `json:"groups"`
	Members int `json:"members"`
	Gone    int `json:"gone"`
	Linked  int `json:"linked"`
}

// SyncGroups brings every customer group and its members in step with
// WeCom: new people are added, people WeCom no longer lists are marked as
// left, and groups it no longer lists are marked gone. Conversions
// recorded before their member logged in are linked by unionid.
func (w *WeCom) SyncGroups(ctx context.Context) (SyncResult, error) {
	var res SyncResult
	if w.api == nil {
		return res, ErrWeComNotConfigured
	}
	ids, err := w.api.GroupChatIDs(ctx)
	if err != nil {
		return res, err
	}
	for _, id := range ids {
		g, err := w.api.GroupChat(ctx, id)
		if err != nil {
			return res, err
		}
		if err := w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return w.storeGroup(ctx, tx, g, true)
		}); err != nil {
			return res, err
		}
		res.Groups++
		res.Members += len(g.Members)
	}
	now := w.now()
	q := w.db.NewUpdate().Model((*groupRow)(nil)).Set("gone_at = ?", now).Where("gone_at IS NULL")
	if len(ids) > 0 {
		q = q.Where("chat_id NOT IN (?)", bun.In(ids))
	}
	r, err := q.Exec(ctx)
	if err != nil {
		return res, fmt.Errorf("mark gone groups: %w", err)
	}
	n, _ := r.RowsAffected()
	res.Gone = int(n)
	if res.Linked, err = w.LinkConversions(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// storeGroup writes a group as WeCom answered it. With full set, people
// WeCom does not list are marked as left.
func (w *WeCom) storeGroup(ctx context.Context, tx bun.IDB, g WeComGroup, full bool) error {
	now := w.now()
	row := groupRow{ChatID: g.ChatID, Name: g.Name, Owner: g.Owner, Notice: g.Notice, MemberVersion: g.MemberVersion,
		Members: len(g.Members), CreatedAt: time.Unix(g.CreateTime, 0).UTC(), SyncedAt: now}
	if _, err := tx.NewInsert().Model(&row).On("CONFLICT (chat_id) DO UPDATE").
		Set("name = EXCLUDED.name").Set("owner = EXCLUDED.owner").Set("notice = EXCLUDED.notice").
		Set("member_version = EXCLUDED.member_version").Set("members = EXCLUDED.members").
		Set("synced_at = EXCLUDED.synced_at").Set("gone_at = NULL").Exec(ctx); err != nil {
		return fmt.Errorf("store group %s: %w", g.ChatID, err)
	}
	if len(g.Members) > 0 {
		rows := make([]groupMemberRow, 0, len(g.Members))
		for _, m := range g.Members {
			rows = append(rows, groupMemberRow{ChatID: g.ChatID, UserID: m.UserID, Type: m.Type, UnionID: m.UnionID, Name: m.Name,
				JoinScene: m.JoinScene, Invitor: m.Invitor, State: m.State, JoinedAt: time.Unix(m.JoinTime, 0).UTC(), UpdatedAt: now})
		}
		if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (chat_id, user_id) DO UPDATE").
			Set("type = EXCLUDED.type").Set("unionid = EXCLUDED.unionid").Set("name = EXCLUDED.name").
			Set("join_scene = EXCLUDED.join_scene").Set("invitor = EXCLUDED.invitor").Set("state = EXCLUDED.state").
			Set("joined_at = EXCLUDED.joined_at").Set("left_at = NULL").Set("updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("store members of %s: %w", g.ChatID, err)
		}
	}
	if !full {
		return nil
	}
	present := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		present = append(present, m.UserID)
	}
	q := tx.NewUpdate().Model((*groupMemberRow)(nil)).Set("left_at = ?", now).Set("updated_at = ?", now).
		Where("chat_id = ? AND left_at IS NULL", g.ChatID)
	if len(present) > 0 {
		q = q.Where("user_id NOT IN (?)", bun.In(present))
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("mark members who left %s: %w", g.ChatID, err)
	}
	return nil
}

// Groups lists the customer groups Siyu knows, by name.
func (w *WeCom) Groups(ctx context.Context) ([]WeComGroupInfo, error) {
	var rows []groupRow
	if err := w.db.NewSelect().Model(&rows).OrderExpr("name, chat_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list WeCom groups: %w", err)
	}
	out := make([]WeComGroupInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.info())
	}
	return out, nil
}

// Group returns a group and the people in it now.
func (w *WeCom) Group(ctx context.Context, chatID string) (WeComGroupInfo, []WeComGroupPerson, error) {
	var row groupRow
	if err := w.db.NewSelect().Model(&row).Where("chat_id = ?", chatID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return WeComGroupInfo{}, nil, ErrGroupNotFound
		}
		return WeComGroupInfo{}, nil, fmt.Errorf("read WeCom group: %w", err)
	}
	people, err := groupPeople(ctx, w.db, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("g.chat_id = ? AND g.left_at IS NULL", chatID).OrderExpr("g.joined_at, g.user_id")
	})
	return row.info(), people, err
}

// groupPeople lists group members (alias g) chosen by filter, with each
// one's member id, found by unionid.
func groupPeople(ctx context.Context, db bun.IDB, filter func(*bun.SelectQuery) *bun.SelectQuery) ([]WeComGroupPerson, error) {
	var rows []struct {
		groupMemberRow
		MemberID string `bun:"member_id"`
	}
	err := filter(db.NewSelect().Model(&rows).ModelTableExpr("wecom_group_members AS g").ColumnExpr("g.*")).
		ColumnExpr("COALESCE((SELECT m.id FROM members AS m WHERE m.unionid = g.unionid AND g.unionid <> '' ORDER BY m.id LIMIT 1), '') AS member_id").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list group members: %w", err)
	}
	out := make([]WeComGroupPerson, 0, len(rows))
	for _, r := range rows {
		out = append(out, WeComGroupPerson{ChatID: r.ChatID, UserID: r.UserID, Type: r.Type, UnionID: r.UnionID, MemberID: r.MemberID,
			Name: r.Name, JoinScene: r.JoinScene, State: r.State, JoinedAt: r.JoinedAt.UTC(), LeftAt: utcPtr(r.LeftAt)})
	}
	return out, nil
}
