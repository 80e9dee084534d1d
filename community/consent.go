package community

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// Errors of the consent ledger.
var (
	// ErrNoConsent is returned when a member has no consent left for a
	// template: nothing was sent.
	ErrNoConsent = errors.New("the member has no subscribe-message consent left for this template")
	// ErrInvalidConsent is returned for a grant with no member or an
	// empty or over-long template id.
	ErrInvalidConsent = errors.New("invalid subscribe-message consent")
)

// errUserRefused is subscribeMessage.send's answer when the user has no
// consent for the template (43101).
const errUserRefused = 43101

// rejectedCodes are subscribeMessage.send's answers about the message
// itself: WeChat did not spend the consent, and sending the same message
// again cannot succeed.
var rejectedCodes = []int64{
	40003, // invalid openid
	40037, // invalid template_id
	41030, // invalid page
	47003, // template data does not fit the keywords
}

// Consent is what a member allowed for one template.
type Consent struct {
	bun.BaseModel `bun:"table:subscribe_consents"`

	MemberID   string `bun:"member_id,pk"`
	TemplateID string `bun:"template_id,pk"`
	// Remaining is how many one-time consents are left.
	Remaining int `bun:"remaining,notnull"`
	// LongTerm is a standing consent of a long-term template.
	LongTerm  bool      `bun:"long_term,notnull"`
	Granted   int       `bun:"granted,notnull"`
	Used      int       `bun:"used,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// SendStatus is what became of a subscribe message.
type SendStatus string

// The statuses of a subscribe message.
const (
	SendPending  SendStatus = "pending"  // a consent is reserved; WeChat has not answered yet
	SendSent     SendStatus = "sent"     // WeChat accepted it
	SendRefused  SendStatus = "refused"  // 43101: the consent was used up after all
	SendRejected SendStatus = "rejected" // WeChat refused the message; the consent was given back
)

// subscribeSend is one subscribe message asked for, by its key.
type subscribeSend struct {
	bun.BaseModel `bun:"table:subscribe_sends"`

	Key        string     `bun:"key,pk"`
	MemberID   string     `bun:"member_id,notnull"`
	TemplateID string     `bun:"template_id,notnull"`
	Status     SendStatus `bun:"status,notnull"`
	Error      string     `bun:"error,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	UpdatedAt  time.Time  `bun:"updated_at,notnull"`
}

// ConsentsConfig configures the consent ledger.
type ConsentsConfig struct {
	DB     *bun.DB
	Sender SubscribeSender
	// LongTermTemplates are the template ids whose consent is long-term:
	// one grant allows any number of sends.
	LongTermTemplates []string
	Now               func() time.Time
	Logger            *slog.Logger
}

// Consents is the subscribe-message consent ledger. One-time consents are
// counted per member and template; every send spends one, and nothing is
// sent without one. WeChat's 43101 marks the consent used; long-term
// templates are not spent. Sends are idempotent by key.
type Consents struct {
	db       *bun.DB
	sender   SubscribeSender
	longTerm []string
	now      func() time.Time
	log      *slog.Logger
}

// NewConsents returns the ledger.
func NewConsents(cfg ConsentsConfig) (*Consents, error) {
	if cfg.DB == nil || cfg.Sender == nil {
		return nil, errors.New("community: ConsentsConfig needs DB and Sender")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consents{db: cfg.DB, sender: cfg.Sender, longTerm: slices.Clone(cfg.LongTermTemplates), now: cfg.Now, log: cfg.Logger}, nil
}

// Grant records, through db (the caller's transaction), that a member
// accepted each template once in wx.requestSubscribeMessage: one more
// one-time consent each, or a standing consent for a long-term template.
func (c *Consents) Grant(ctx context.Context, db bun.IDB, memberID string, templateIDs []string) error {
	if memberID == "" {
		return fmt.Errorf("%w: no member", ErrInvalidConsent)
	}
	now := c.now().UTC()
	for _, tpl := range templateIDs {
		if tpl == "" || len(tpl) > 128 {
			return fmt.Errorf("%w: template id %q", ErrInvalidConsent, tpl)
		}
		row := &Consent{MemberID: memberID, TemplateID: tpl, Granted: 1, UpdatedAt: now}
		if slices.Contains(c.longTerm, tpl) {
			row.LongTerm = true
		} else {
			row.Remaining = 1
		}
		_, err := db.NewInsert().Model(row).
			On("CONFLICT (member_id, template_id) DO UPDATE").
			Set("remaining = ?TableAlias.remaining + EXCLUDED.remaining").
			Set("long_term = ?TableAlias.long_term OR EXCLUDED.long_term").
			Set("granted = ?TableAlias.granted + 1").
			Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("record consent: %w", err)
		}
	}
	return nil
}

// Consent returns a member's consent for a template (zero when none was
// ever granted).
func (c *Consents) Consent(ctx context.Context, memberID, templateID string) (Consent, error) {
	var row Consent
	err := c.db.NewSelect().Model(&row).Where("member_id = ? AND template_id = ?", memberID, templateID).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Consent{MemberID: memberID, TemplateID: templateID}, nil
	case err != nil:
		return Consent{}, fmt.Errorf("read consent: %w", err)
	}
	return row, nil
}

// SendRequest is a subscribe message to send once under Key.
type SendRequest struct {
	// Key names the message: a message whose key was sent is not sent
	// again ("live-reminder:RESERVATION").
	Key      string
	MemberID string
	Message  SubscribeMessage
}

// Send sends a subscribe message, spending one of the member's consents.
// It returns the message's final status, or ErrNoConsent when the member
// has none (nothing is sent), or another error when WeChat could not be
// reached: the consent then stays reserved for the key, and sending again
// under the same key resumes without spending another.
func (c *Consents) Send(ctx context.Context, req SendRequest) (SendStatus, error) {
	if req.Key == "" || req.MemberID == "" || req.Message.TemplateID == "" {
		return "", fmt.Errorf("%w: a send needs a key, a member and a template", ErrInvalidConsent)
	}
	status, err := c.reserve(ctx, req)
	if err != nil || status != SendPending {
		return status, err
	}
	sendErr := c.sender.SendSubscribe(ctx, req.Message)
	var se *SendError
	switch {
	case sendErr == nil:
		status = SendSent
	case errors.As(sendErr, &se) && se.Code == errUserRefused:
		status = SendRefused
	case errors.As(sendErr, &se) && slices.Contains(rejectedCodes, se.Code):
		status = SendRejected
	default:
		// WeChat unreachable, busy or out of quota: the consent stays
		// reserved and the caller tries again.
		return SendPending, fmt.Errorf("send subscribe message %s: %w", req.Key, sendErr)
	}
	if err := c.settle(ctx, req, status, sendErr); err != nil {
		return "", err
	}
	return status, nil
}

// reserve claims a consent for req.Key in one transaction: a key already
// settled answers its status, a pending key resumes, and a new key spends
// a one-time consent (a long-term one is not spent).
func (c *Consents) reserve(ctx context.Context, req SendRequest) (SendStatus, error) {
	var status SendStatus
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var prev subscribeSend
		err := database.ForUpdate(tx.NewSelect().Model(&prev).Where("key = ?", req.Key)).Scan(ctx)
		switch {
		case err == nil:
			status = prev.Status
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read subscribe send: %w", err)
		}
		var con Consent
		err = database.ForUpdate(tx.NewSelect().Model(&con).
			Where("member_id = ? AND template_id = ?", req.MemberID, req.Message.TemplateID)).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNoConsent
		case err != nil:
			return fmt.Errorf("read consent: %w", err)
		case !con.LongTerm && con.Remaining < 1:
			return ErrNoConsent
		}
		now := c.now().UTC()
		if !con.LongTerm {
			con.Remaining--
		}
		con.Used++
		con.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(&con).Column("remaining", "used", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("spend consent: %w", err)
		}
		row := &subscribeSend{Key: req.Key, MemberID: req.MemberID, TemplateID: req.Message.TemplateID, Status: SendPending, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return fmt.Errorf("record subscribe send: %w", err)
		}
		status = SendPending
		return nil
	})
	return status, err
}

// settle records WeChat's final answer. A refusal (43101) leaves the
// consent spent, and withdraws a long-term one; a rejected message gives
// its one-time consent back, since WeChat did not spend it.
func (c *Consents) settle(ctx context.Context, req SendRequest, status SendStatus, sendErr error) error {
	return c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row subscribeSend
		if err := database.ForUpdate(tx.NewSelect().Model(&row).Where("key = ?", req.Key)).Scan(ctx); err != nil {
			return fmt.Errorf("read subscribe send: %w", err)
		}
		if row.Status != SendPending {
			// Another attempt settled it first.
			return nil
		}
		now := c.now().UTC()
		row.Status, row.UpdatedAt = status, now
		if sendErr != nil {
			row.Error = sendErr.Error()
		}
		if _, err := tx.NewUpdate().Model(&row).Column("status", "error", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("settle subscribe send: %w", err)
		}
		var con Consent
		if err := database.ForUpdate(tx.NewSelect().Model(&con).
			Where("member_id = ? AND template_id = ?", req.MemberID, req.Message.TemplateID)).Scan(ctx); err != nil {
			return fmt.Errorf("read consent: %w", err)
		}
		switch {
		case status == SendRefused && con.LongTerm:
			con.LongTerm = false
		case status == SendRejected && !con.LongTerm:
			con.Remaining++
			con.Used--
		case status == SendRejected:
			con.Used--
		default:
			return nil
		}
		con.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(&con).Column("remaining", "long_term", "used", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update consent: %w", err)
		}
		if status == SendRefused {
			c.log.Info("subscribe consent withdrawn on WeChat", "member", req.MemberID, "template", req.Message.TemplateID)
		}
		return nil
	})
}
