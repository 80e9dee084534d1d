package community

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// WeCom errors.
var (
	// ErrWeComNotConfigured is returned when WeCom is not connected.
	ErrWeComNotConfigured = errors.New("WeCom is not configured")
	// ErrInvalidWay is wrapped by errors about a join or contact way's fields.
	ErrInvalidWay = errors.New("invalid join or contact way")
	// ErrGroupNotFound is returned for an unknown customer group.
	ErrGroupNotFound = errors.New("WeCom group not found")
)

// TaskSyncWeCom (periodic) syncs customer groups and their members.
const TaskSyncWeCom = "community:sync-wecom"

// Way kinds.
const (
	WayJoin    = "join_way"    // a group QR code (加入群聊)
	WayContact = "contact_way" // a staff member's QR code (联系我)
)

// WeComWay is a join way or contact way Siyu created. Its State is the
// short code WeCom hands back with every join or add through it, which
// carries the way's attribution (show, campaign, inviter).
type WeComWay struct {
	ConfigID   string     `json:"config_id"`
	Kind       string     `json:"kind" enum:"join_way,contact_way"`
	State      string     `json:"state"`
	Targets    []string   `json:"targets"`
	Remark     string     `json:"remark"`
	QRCode     string     `json:"qr_code"`
	ShowID     string     `json:"show_id,omitempty"`
	CampaignID string     `json:"campaign_id,omitempty"`
	InviterID  string     `json:"inviter_id,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	DeletedAt  *time.Time `json:"deleted_at,omitempty"`
}

// WayInput is what staff give for a way: the groups (join way, one to
// five chat ids) or the staff member (contact way, one userid), and the
// attribution its joins carry.
type WayInput struct {
	Targets    []string `json:"targets"`
	Remark     string   `json:"remark"`
	ShowID     string   `json:"show_id,omitempty"`
	CampaignID string   `json:"campaign_id,omitempty"`
	InviterID  string   `json:"inviter_id,omitempty"`
}

type wayRow struct {
	bun.BaseModel `bun:"table:wecom_ways"`

	ConfigID   string     `bun:"config_id,pk"`
	Kind       string     `bun:"kind,notnull"`
	State      string     `bun:"state,notnull"`
	Targets    string     `bun:"targets,notnull"`
	Remark     string     `bun:"remark,notnull"`
	QRCode     string     `bun:"qr_code,notnull"`
	ShowID     string     `bun:"show_id,notnull"`
	CampaignID string     `bun:"campaign_id,notnull"`
	InviterID  string     `bun:"inviter_id,notnull"`
	CreatedBy  string     `bun:"created_by,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	DeletedAt  *time.Time `bun:"deleted_at"`
}

func (r wayRow) way() WeComWay {
	w := WeComWay{ConfigID: r.ConfigID, Kind: r.Kind, State: r.State, Targets: []string{}, Remark: r.Remark, QRCode: r.QRCode,
		ShowID: r.ShowID, CampaignID: r.CampaignID, InviterID: r.InviterID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		DeletedAt: utcPtr(r.DeletedAt)}
	_ = json.Unmarshal([]byte(r.Targets), &w.Targets)
	return w
}

// WeComConfig configures WeCom.
type WeComConfig struct {
	DB *bun.DB
	// API is the WeCom client; nil leaves WeCom unconfigured (every call
	// answers ErrWeComNotConfigured, callbacks 404).
	API WeComAPI
	// CorpID, Token and EncodingAESKey verify and decrypt callbacks; with
	// no Token the callback URL answers 404.
	CorpID         string
	Token          string
	EncodingAESKey string
	// Now is the clock; time.Now by default.
	Now    func() time.Time
	Logger *slog.Logger
}

// WeCom keeps the brand's WeCom customer groups and customers in step with
// WeCom (sync and callbacks), creates join and contact ways whose state
// carries attribution, and records each conversion into private traffic.
type WeCom struct {
	cfg WeComConfig
	db  *bun.DB
	api WeComAPI
	now func() time.Time
	log *slog.Logger
}

// NewWeCom returns the service.
func NewWeCom(cfg WeComConfig) (*WeCom, error) {
	if cfg.DB == nil {
		return nil, errors.New("community: WeComConfig needs DB")
	}
	if cfg.Token != "" && (cfg.CorpID == "" || len(cfg.EncodingAESKey) != 43) {
		return nil, errors.New("community: WeComConfig needs CorpID and a 43-character EncodingAESKey with Token")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	return &WeCom{cfg: cfg, db: cfg.DB, api: cfg.API, now: func() time.Time { return now().UTC() }, log: cfg.Logger}, nil
}

// Configured reports whether WeCom is connected.
func (w *WeCom) Configured() bool { return w.api != nil }

// newState returns a fresh state: "sy" and 12 base32 characters, well
// under WeCom's 30.
func newState() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "sy" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:12]
}

func (in *WayInput) clean(kind string) error {
	in.Remark = strings.TrimSpace(in.Remark)
	var targets []string
	for _, t := range in.Targets {
		if t = strings.TrimSpace(t); t != "" {
			targets = append(targets, t)
		}
	}
	in.Targets = distinctIDs(targets)
	switch {
	case kind == WayJoin && (len(in.Targets) < 1 || len(in.Targets) > 5):
		return fmt.Errorf("%w: a join way lists 1 to 5 group chat ids", ErrInvalidWay)
	case kind == WayContact && len(in.Targets) != 1:
		return fmt.Errorf("%w: a contact way names exactly one staff userid", ErrInvalidWay)
	case len([]rune(in.Remark)) > 30:
		return fmt.Errorf("%w: remark must be at most 30 characters (WeCom cuts it there)", ErrInvalidWay)
	}
	return nil
}

// CreateJoinWay creates a group QR code for up to five customer groups
// whose joins are attributed as in says.
func (w *WeCom) CreateJoinWay(ctx context.Context, staffID string, in WayInput) (WeComWay, error) {
	return w.createWay(ctx, staffID, WayJoin, in)
}

// CreateContactWay creates a staff member's 「联系我」 QR code whose adds are
// attributed as in says.
func (w *WeCom) CreateContactWay(ctx context.Context, staffID string, in WayInput) (WeComWay, error) {
	return w.createWay(ctx, staffID, WayContact, in)
}

func (w *WeCom) createWay(ctx context.Context, staffID, kind string, in WayInput) (WeComWay, error) {
	if w.api == nil {
		return WeComWay{}, ErrWeComNotConfigured
	}
	if err := in.clean(kind); err != nil {
		return WeComWay{}, err
	}
	if in.ShowID != "" {
		if n, err := w.db.NewSelect().Table("shows").Where("id = ?", in.ShowID).Count(ctx); err != nil || n == 0 {
			return WeComWay{}, fmt.Errorf("%w: no show has id %q", ErrInvalidWay, in.ShowID)
		}
	}
	if in.InviterID != "" {
		if n, err := w.db.NewSelect().Table("members").Where("id = ?", in.InviterID).Count(ctx); err != nil || n == 0 {
			return WeComWay{}, fmt.Errorf("%w: no member has id %q", ErrInvalidWay, in.InviterID)
		}
	}
	if in.CampaignID != "" {
		if n, err := w.db.NewSelect().Table("campaigns").Where("id = ?", in.CampaignID).Count(ctx); err != nil || n == 0 {
			return WeComWay{}, fmt.Errorf("%w: no campaign has id %q", ErrInvalidWay, in.CampaignID)
		}
	}
	state := newState()
	var configID, qr string
	var err error
	if kind == WayJoin {
		configID, qr, err = w.api.AddJoinWay(ctx, in.Targets, in.Remark, state)
	} else {
		configID, qr, err = w.api.AddContactWay(ctx, in.Targets[0], in.Remark, state)
	}
	if err != nil {
		var we *WeComError
		if errors.As(err, &we) {
			return WeComWay{}, fmt.Errorf("%w: WeCom refused it: %s (errcode %d)", ErrInvalidWay, we.Msg, we.Code)
		}
		return WeComWay{}, err
	}
	targets, _ := json.Marshal(in.Targets)
	row := wayRow{ConfigID: configID, Kind: kind, State: state, Targets: string(targets), Remark: in.Remark, QRCode: qr,
		ShowID: in.ShowID, CampaignID: in.CampaignID, InviterID: in.InviterID, CreatedBy: staffID, CreatedAt: w.now()}
	err = w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return fmt.Errorf("insert WeCom way: %w", err)
		}
		return recordStaffAction(ctx, tx, staffID, "wecom_way.create", "wecom_way", row.ConfigID,
			map[string]any{"kind": kind, "targets": in.Targets, "show_id": in.ShowID, "campaign_id": in.CampaignID, "inviter_id": in.InviterID})
	})
	if err != nil {
		return WeComWay{}, err
	}
	return row.way(), nil
}

// Ways lists the ways Siyu created, newest first; showID, when set, keeps
// a show's.
func (w *WeCom) Ways(ctx context.Context, showID string) ([]WeComWay, error) {
	var rows []wayRow
	q := w.db.NewSelect().Model(&rows).OrderExpr("created_at DESC")
	if showID != "" {
		q = q.Where("show_id = ?", showID)
	}
	if err := q.Limit(500).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list WeCom ways: %w", err)
	}
	out := make([]WeComWay, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.way())
	}
	return out, nil
}

// wayByState finds the way a state belongs to.
func (w *WeCom) wayByState(ctx context.Context, db bun.IDB, state string) (wayRow, bool, error) {
	var row wayRow
	if state == "" {
		return row, false, nil
	}
	err := db.NewSelect().Model(&row).Where("state = ?", state).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("find way of state %q: %w", state, err)
	}
	return row, true, nil
}
