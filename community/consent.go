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
	sent     sentRecords
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
	res, err := c.Reserve(ctx, []SendRequest{req})
	switch {
	case err != nil:
		return "", err
	case res[0].NoConsent:
		return "", ErrNoConsent
	case res[0].Status != SendPending:
		return res[0].Status, nil
	}
	return c.Deliver(ctx, req)
}

// Reservation is what Reserve did for one request.
type Reservation struct {
	// Status is SendPending when the message is to be sent (Deliver), or
	// the final status of a key settled before: nothing is to be sent.
	Status SendStatus
	// Reserved says this call spent the consent (the key is new); a
	// pending key reserved earlier resumes with the consent it holds.
	Reserved bool
	// NoConsent says the member had no consent left for the template:
	// nothing was reserved and nothing is to be sent.
	NoConsent bool
}

// Reserve claims consents for sends, all in one transaction, and answers
// one Reservation per request, in order: a key already settled answers its
// status, a pending key resumes, and a new key spends a one-time consent
// (a long-term one is not spent) or, without one, reserves nothing. Keys
// must be distinct.
func (c *Consents) Reserve(ctx context.Context, reqs []SendRequest) ([]Reservation, error) {
	keys := make([]string, 0, len(reqs))
	seen := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		if r.Key == "" || r.MemberID == "" || r.Message.TemplateID == "" {
			return nil, fmt.Errorf("%w: a send needs a key, a member and a template", ErrInvalidConsent)
		}
		if seen[r.Key] {
			return nil, fmt.Errorf("%w: key %q twice in one reservation", ErrInvalidConsent, r.Key)
		}
		seen[r.Key] = true
		keys = append(keys, r.Key)
	}
	out := make([]Reservation, len(reqs))
	if len(reqs) == 0 {
		return out, nil
	}
	err := c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var prev []subscribeSend
		if err := database.ForUpdate(tx.NewSelect().Model(&prev).Column("key", "status").Where("key IN (?)", bun.In(keys))).Scan(ctx); err != nil {
			return fmt.Errorf("read subscribe sends: %w", err)
		}
		known := make(map[string]SendStatus, len(prev))
		for _, p := range prev {
			known[p.Key] = p.Status
		}
		var fresh []int
		for i, r := range reqs {
			out[i] = Reservation{}
			if st, ok := known[r.Key]; ok {
				out[i].Status = st
				continue
			}
			fresh = append(fresh, i)
		}
		now := c.now().UTC()
		for _, round := range distinctConsents(reqs, fresh) {
			for tpl, idx := range round {
				members := make([]string, 0, len(idx))
				for _, i := range idx {
					members = append(members, reqs[i].MemberID)
				}
				var spent []string
				if _, err := tx.NewUpdate().Model((*Consent)(nil)).
					Set("remaining = CASE WHEN long_term THEN remaining ELSE remaining - 1 END").
					Set("used = used + 1").Set("updated_at = ?", now).
					Where("template_id = ? AND member_id IN (?)", tpl, bun.In(members)).
					Where("(remaining > 0 OR long_term = TRUE)").
					Returning("member_id").Exec(ctx, &spent); err != nil {
					return fmt.Errorf("spend consents: %w", err)
				}
				ok := make(map[string]bool, len(spent))
				for _, m := range spent {
					ok[m] = true
				}
				rows := make([]subscribeSend, 0, len(spent))
				for _, i := range idx {
					r := reqs[i]
					if !ok[r.MemberID] {
						out[i] = Reservation{NoConsent: true}
						continue
					}
					out[i] = Reservation{Status: SendPending, Reserved: true}
					rows = append(rows, subscribeSend{Key: r.Key, MemberID: r.MemberID, TemplateID: tpl, Status: SendPending, CreatedAt: now, UpdatedAt: now})
				}
				if len(rows) > 0 {
					if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
						return fmt.Errorf("record subscribe sends: %w", err)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// distinctConsents splits the requests at idx into rounds, each naming a
// consent (member and template) at most once, grouped by template: one
// statement spends or gives back a round's consents of a template.
func distinctConsents(reqs []SendRequest, idx []int) []map[string][]int {
	var rounds []map[string][]int
	uses := map[[2]string]int{}
	for _, i := range idx {
		k := [2]string{reqs[i].MemberID, reqs[i].Message.TemplateID}
		n := uses[k]
		uses[k] = n + 1
		if n == len(rounds) {
			rounds = append(rounds, map[string][]int{})
		}
		rounds[n][k[1]] = append(rounds[n][k[1]], i)
	}
	return rounds
}

// Deliver sends a message whose consent Reserve holds for its key (it
// answered SendPending) and records WeChat's answer, as Send does.
func (c *Consents) Deliver(ctx context.Context, req SendRequest) (SendStatus, error) {
	sendErr := c.sender.SendSubscribe(ctx, req.Message)
	var se *SendError
	var status SendStatus
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

// Release gives back the consents reserved for requests whose messages
// were never handed to WeChat (a batch stopped before sending them), all
// in one transaction, and forgets their keys. Only keys Reserve spent a
// consent for (Reserved) may be released: a key reserved earlier may have
// been sent by a worker that died. Keys no longer pending are left alone.
func (c *Consents) Release(ctx context.Context, reqs []SendRequest) error {
	if len(reqs) == 0 {
		return nil
	}
	keys := make([]string, 0, len(reqs))
	for _, r := range reqs {
		keys = append(keys, r.Key)
	}
	return c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var gone []subscribeSend
		if _, err := tx.NewDelete().Model(&gone).Where("key IN (?) AND status = ?", bun.In(keys), SendPending).
			Returning("key, member_id, template_id").Exec(ctx); err != nil {
			return fmt.Errorf("release subscribe sends: %w", err)
		}
		back := make([]SendRequest, 0, len(gone))
		idx := make([]int, 0, len(gone))
		for i, g := range gone {
			back = append(back, SendRequest{Key: g.Key, MemberID: g.MemberID, Message: SubscribeMessage{TemplateID: g.TemplateID}})
			idx = append(idx, i)
		}
		now := c.now().UTC()
		for _, round := range distinctConsents(back, idx) {
			for tpl, is := range round {
				members := make([]string, 0, len(is))
				for _, i := range is {
					members = append(members, back[i].MemberID)
				}
				if _, err := tx.NewUpdate().Model((*Consent)(nil)).
					Set("remaining = CASE WHEN long_term THEN remaining ELSE remaining + 1 END").
					Set("used = used - 1").Set("updated_at = ?", now).
					Where("template_id = ? AND member_id IN (?)", tpl, bun.In(members)).Exec(ctx); err != nil {
					return fmt.Errorf("give back consents: %w", err)
				}
			}
		}
		return nil
	})
}

// settle records WeChat's final answer for a pending key. A message sent
// is recorded with those sent at the same moment (sentRecords); a refusal
// (43101) leaves the consent spent, and withdraws a long-term one; a
// rejected message gives its one-time consent back, since WeChat did not
// spend it.
func (c *Consents) settle(ctx context.Context, req SendRequest, status SendStatus, sendErr error) error {
	now := c.now().UTC()
	var errText string
	if sendErr != nil {
		errText = sendErr.Error()
	}
	record := func(ctx context.Context, db bun.IDB) (bool, error) {
		res, err := db.NewUpdate().Model((*subscribeSend)(nil)).Set("status = ?", status).Set("error = ?", errText).
			Set("updated_at = ?", now).Where("key = ? AND status = ?", req.Key, SendPending).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("settle subscribe send: %w", err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	if status == SendSent {
		return c.sent.record(ctx, req.Key, func(ctx context.Context, keys []string) error {
			_, err := c.db.NewUpdate().Model((*subscribeSend)(nil)).Set("status = ?", SendSent).Set("error = ''").
				Set("updated_at = ?", now).Where("key IN (?) AND status = ?", bun.In(keys), SendPending).Exec(ctx)
			if err != nil {
				return fmt.Errorf("settle subscribe sends: %w", err)
			}
			return nil
		})
	}
	return c.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if mine, err := record(ctx, tx); err != nil || !mine {
			// Not mine: another attempt settled it first.
			return err
		}
		q := tx.NewUpdate().Model((*Consent)(nil)).Set("updated_at = ?", now).
			Where("member_id = ? AND template_id = ?", req.MemberID, req.Message.TemplateID)
		if status == SendRefused {
			q = q.Set("long_term = FALSE").Where("long_term = TRUE")
		} else {
			q = q.Set("remaining = CASE WHEN long_term THEN remaining ELSE remaining + 1 END").Set("used = used - 1")
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("update consent: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 && status == SendRefused {
			c.log.Info("subscribe consent withdrawn on WeChat", "member", req.MemberID, "template", req.Message.TemplateID)
		}
		return nil
	})
}
