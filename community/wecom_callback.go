package community

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
	"github.com/siyu-live/siyu/outbox"
)

// WeCom's callbacks (接收消息与事件) reach CallbackHandler. The URL check is
// a GET with an encrypted echostr that must be answered with its
// plaintext; events are POSTed as <xml><ToUserName/><Encrypt/><AgentID/>
// </xml>. Both carry msg_signature = SHA-1 of the sorted token, timestamp,
// nonce and ciphertext, checked before anything is decrypted; decryption
// (AES-256-CBC, receive id = the corp id) is silenceper/wechat's
// util.DecryptMsg. A verified event is stored by the hash of its plaintext
// together with an outbox task, and answered at once: WeCom waits five
// seconds and sends again, so the work (asking WeCom who joined, linking
// members, recording conversions) happens in the worker, and a copy of an
// event already stored is dropped.

// TaskWeComEvent is the task type that processes a stored callback event.
const TaskWeComEvent = "community:wecom-event"

// WeComEventTask is the payload of TaskWeComEvent.
type WeComEventTask struct {
	EventID string `json:"event_id"`
}

// maxCallbackBody bounds a callback body.
const maxCallbackBody = 1 << 20

type wecomEnvelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
	AgentID    string   `xml:"AgentID"`
}

// wecomEvent is the decrypted XML of the events Siyu handles: 客户联系 ›
// 变更回调 (change_external_contact, change_external_chat).
type wecomEvent struct {
	XMLName        xml.Name `xml:"xml"`
	ToUserName     string   `xml:"ToUserName"`
	CreateTime     int64    `xml:"CreateTime"`
	MsgType        string   `xml:"MsgType"`
	Event          string   `xml:"Event"`
	ChangeType     string   `xml:"ChangeType"`
	UserID         string   `xml:"UserID"`
	ExternalUserID string   `xml:"ExternalUserID"`
	State          string   `xml:"State"`
	WelcomeCode    string   `xml:"WelcomeCode"`
	ChatID         string   `xml:"ChatId"`
	UpdateDetail   string   `xml:"UpdateDetail"`
	JoinScene      int      `xml:"JoinScene"`
	QuitScene      int      `xml:"QuitScene"`
	MemChangeCnt   int      `xml:"MemChangeCnt"`
	MemChangeList  struct {
		Item []string `xml:"Item"`
	} `xml:"MemChangeList"`
}

type wecomEventRow struct {
	bun.BaseModel `bun:"table:wecom_events"`

	ID          string     `bun:"id,pk"`
	Event       string     `bun:"event,notnull"`
	ChangeType  string     `bun:"change_type,notnull"`
	Payload     string     `bun:"payload,notnull"`
	ReceivedAt  time.Time  `bun:"received_at,notnull"`
	ProcessedAt *time.Time `bun:"processed_at"`
	LastError   string     `bun:"last_error,notnull"`
}

// CallbackHandler serves WeCom's callback URL (app mounts it at
// /callbacks/wecom).
func (w *WeCom) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.api == nil || w.cfg.Token == "" {
			http.NotFound(rw, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			w.verifyURL(rw, r)
		case http.MethodPost:
			w.receive(rw, r)
		default:
			rw.Header().Set("Allow", "GET, POST")
			http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// signed checks msg_signature over the token, timestamp, nonce and
// ciphertext.
func (w *WeCom) signed(r *http.Request, cipher string) bool {
	q := r.URL.Query()
	want := util.Signature(w.cfg.Token, q.Get("timestamp"), q.Get("nonce"), cipher)
	got := q.Get("msg_signature")
	return got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// verifyURL answers WeCom's URL check with the decrypted echostr, exactly.
func (w *WeCom) verifyURL(rw http.ResponseWriter, r *http.Request) {
	echo := r.URL.Query().Get("echostr")
	if echo == "" || !w.signed(r, echo) {
		http.Error(rw, "bad signature", http.StatusForbidden)
		return
	}
	_, plain, err := util.DecryptMsg(w.cfg.CorpID, echo, w.cfg.EncodingAESKey)
	if err != nil {
		http.Error(rw, "cannot decrypt echostr", http.StatusBadRequest)
		return
	}
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = rw.Write(plain)
}

// receive verifies, decrypts and stores an event.
func (w *WeCom) receive(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallbackBody))
	if err != nil {
		http.Error(rw, "cannot read body", http.StatusBadRequest)
		return
	}
	var env wecomEnvelope
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		http.Error(rw, "not a WeCom callback", http.StatusBadRequest)
		return
	}
	if !w.signed(r, env.Encrypt) {
		http.Error(rw, "bad signature", http.StatusForbidden)
		return
	}
	_, plain, err := util.DecryptMsg(w.cfg.CorpID, env.Encrypt, w.cfg.EncodingAESKey)
	if err != nil {
		http.Error(rw, "cannot decrypt", http.StatusBadRequest)
		return
	}
	var ev wecomEvent
	if err := xml.Unmarshal(plain, &ev); err != nil {
		http.Error(rw, "event is not XML", http.StatusBadRequest)
		return
	}
	if err := w.store(r.Context(), ev, plain); err != nil {
		w.log.Error("store WeCom event", "event", ev.Event, "err", err)
		http.Error(rw, "try again", http.StatusInternalServerError)
		return
	}
	_, _ = io.WriteString(rw, "success")
}

// store keeps an event and asks for it to be processed, once per event.
func (w *WeCom) store(ctx context.Context, ev wecomEvent, plain []byte) error {
	sum := sha256.Sum256(plain)
	id := hex.EncodeToString(sum[:16])
	row := wecomEventRow{ID: id, Event: ev.Event, ChangeType: ev.ChangeType, Payload: string(plain), ReceivedAt: w.now()}
	return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&row).On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return outbox.Add(ctx, tx, outbox.Message{ID: "wecom-event:" + id, TaskType: TaskWeComEvent, Payload: WeComEventTask{EventID: id}})
	})
}

// ProcessEvent carries out a stored callback event (the task
// TaskWeComEvent); processing it again changes nothing.
func (w *WeCom) ProcessEvent(ctx context.Context, eventID string) error {
	var row wecomEventRow
	if err := w.db.NewSelect().Model(&row).Where("id = ?", eventID).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("WeCom event %s: %w", eventID, err)
		}
		return err
	}
	if row.ProcessedAt != nil {
		return nil
	}
	var ev wecomEvent
	if err := xml.Unmarshal([]byte(row.Payload), &ev); err != nil {
		return fmt.Errorf("WeCom event %s: %w", eventID, err)
	}
	err := w.handle(ctx, ev)
	now := w.now()
	q := w.db.NewUpdate().Model((*wecomEventRow)(nil)).Where("id = ?", eventID)
	if err != nil {
		_, _ = q.Set("last_error = ?", err.Error()).Exec(context.WithoutCancel(ctx))
		return err
	}
	_, err = q.Set("processed_at = ?", now).Set("last_error = ''").Exec(ctx)
	return err
}

func (w *WeCom) handle(ctx context.Context, ev wecomEvent) error {
	at := time.Unix(ev.CreateTime, 0).UTC()
	if ev.CreateTime == 0 {
		at = w.now()
	}
	switch {
	case ev.Event == "change_external_contact" && (ev.ChangeType == "add_external_contact" || ev.ChangeType == "add_half_external_contact"):
		return w.contactAdded(ctx, ev, at)
	case ev.Event == "change_external_contact" && (ev.ChangeType == "del_external_contact" || ev.ChangeType == "del_follow_user"):
		_, err := w.db.NewUpdate().Model((*contactRow)(nil)).Set("removed_at = ?", at).Set("updated_at = ?", w.now()).
			Where("external_userid = ? AND staff_userid = ? AND removed_at IS NULL", ev.ExternalUserID, ev.UserID).Exec(ctx)
		return err
	case ev.Event == "change_external_chat" && ev.ChangeType == "update" && ev.UpdateDetail == "add_member":
		return w.membersJoined(ctx, ev, at)
	case ev.Event == "change_external_chat" && ev.ChangeType == "update" && ev.UpdateDetail == "del_member":
		return w.membersLeft(ctx, ev, at)
	case ev.Event == "change_external_chat" && (ev.ChangeType == "create" || ev.ChangeType == "update"):
		g, err := w.api.GroupChat(ctx, ev.ChatID)
		if err != nil {
			return err
		}
		return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return w.storeGroup(ctx, tx, g, true) })
	case ev.Event == "change_external_chat" && ev.ChangeType == "dismiss":
		_, err := w.db.NewUpdate().Model((*groupRow)(nil)).Set("gone_at = ?", at).Where("chat_id = ?", ev.ChatID).Exec(ctx)
		return err
	}
	w.log.Debug("WeCom event not handled", "event", ev.Event, "change_type", ev.ChangeType)
	return nil
}

// contactAdded records a new customer of a staff member, linked to a
// member by unionid, and its conversion with the way's attribution.
func (w *WeCom) contactAdded(ctx context.Context, ev wecomEvent, at time.Time) error {
	c, err := w.api.Contact(ctx, ev.ExternalUserID)
	if err != nil {
		return err
	}
	state := ev.State
	for _, f := range c.Follows {
		if f.UserID == ev.UserID && state == "" {
			state = f.State
		}
	}
	now := w.now()
	return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row := contactRow{ExternalUserID: ev.ExternalUserID, StaffUserID: ev.UserID, UnionID: c.UnionID, Name: c.Name, State: state, AddedAt: at, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(&row).On("CONFLICT (external_userid, staff_userid) DO UPDATE").
			Set("unionid = EXCLUDED.unionid").Set("name = EXCLUDED.name").Set("removed_at = NULL").Set("updated_at = EXCLUDED.updated_at").
			Exec(ctx); err != nil {
			return fmt.Errorf("store WeCom contact: %w", err)
		}
		return w.recordConversion(ctx, tx, conversionKindContact, ev.ExternalUserID, ev.UserID, c.UnionID, state, at)
	})
}

// membersJoined asks WeCom for the group (the event names who joined but
// not through which way) and records each external joiner with the state
// of the join way they scanned.
func (w *WeCom) membersJoined(ctx context.Context, ev wecomEvent, at time.Time) error {
	g, err := w.api.GroupChat(ctx, ev.ChatID)
	if err != nil {
		return err
	}
	joined := map[string]bool{}
	for _, id := range ev.MemChangeList.Item {
		joined[id] = true
	}
	return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := w.storeGroup(ctx, tx, g, false); err != nil {
			return err
		}
		for _, m := range g.Members {
			if !joined[m.UserID] || m.Type != 2 {
				continue
			}
			when := time.Unix(m.JoinTime, 0).UTC()
			if m.JoinTime == 0 {
				when = at
			}
			if err := w.recordConversion(ctx, tx, conversionKindGroup, m.UserID, g.ChatID, m.UnionID, m.State, when); err != nil {
				return err
			}
		}
		return nil
	})
}

// membersLeft marks the people of a del_member event as out of the group.
func (w *WeCom) membersLeft(ctx context.Context, ev wecomEvent, at time.Time) error {
	if len(ev.MemChangeList.Item) == 0 {
		return nil
	}
	return w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*groupMemberRow)(nil)).Set("left_at = ?", at).Set("updated_at = ?", w.now()).
			Where("chat_id = ? AND user_id IN (?) AND left_at IS NULL", ev.ChatID, bun.In(ev.MemChangeList.Item)).Exec(ctx); err != nil {
			return fmt.Errorf("mark members who left: %w", err)
		}
		n, err := tx.NewSelect().Model((*groupMemberRow)(nil)).Where("chat_id = ? AND left_at IS NULL", ev.ChatID).Count(ctx)
		if err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*groupRow)(nil)).Set("members = ?", n).Where("chat_id = ?", ev.ChatID).Exec(ctx)
		return err
	})
}

// eventsKeptFor is how long a processed WeCom callback event is kept: WeCom
// sends an unanswered event again within seconds, so the copy it would
// catch is long past; the rest is for looking into what happened.
const eventsKeptFor = 30 * 24 * time.Hour

// PruneEvents deletes processed callback events older than eventsKeptFor.
// Events not processed yet are kept whatever their age.
func (w *WeCom) PruneEvents(ctx context.Context) (int64, error) {
	return database.DeleteInBatches(ctx, w.db, "wecom_events", "id",
		"processed_at IS NOT NULL AND received_at < ?", w.now().Add(-eventsKeptFor))
}
