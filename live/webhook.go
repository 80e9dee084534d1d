package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/webhook"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/database"
)

// maxWebhookBody bounds a webhook's body.
const maxWebhookBody = 1 << 20

// WebhookHandler is the net/http handler of LiveKit's webhooks (app mounts
// it at /callbacks/livekit). Each request is verified with server-sdk-go's
// receiver (the token signed with Siyu's API key, and the body's SHA-256
// in it): anything else is answered 401 and has no effect. A verified
// event is applied once (HandleEvent); a failure answers 500 so LiveKit
// sends it again.
func (s *Service) WebhookHandler() http.Handler {
	keys := auth.NewSimpleKeyProvider(s.cfg.APIKey, s.cfg.APISecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST only")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxWebhookBody)
		ev, err := webhook.ReceiveWebhookEvent(r, keys)
		if err != nil {
			s.log.Warn("LiveKit webhook rejected", "err", err, "remote", r.RemoteAddr)
			writeJSONError(w, http.StatusUnauthorized, "webhook_rejected", "the webhook's signature or body does not verify")
			return
		}
		if err := s.HandleEvent(r.Context(), ev); err != nil {
			if errors.Is(err, ErrWebhookRejected) {
				writeJSONError(w, http.StatusBadRequest, "webhook_rejected", err.Error())
				return
			}
			s.log.Error("LiveKit webhook failed", "event", ev.Event, "id", ev.Id, "err", err)
			writeJSONError(w, http.StatusInternalServerError, "internal_error", "the event was not applied; send it again")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
	})
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// LiveKitEvent is a webhook event already applied.
type LiveKitEvent struct {
	bun.BaseModel `bun:"table:livekit_events"`

	ID         string    `bun:"id,pk"`
	Event      string    `bun:"event,notnull"`
	RoomName   string    `bun:"room_name,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	ReceivedAt time.Time `bun:"received_at,notnull"`
}

// HandleEvent applies one verified LiveKit event. Its id is stored in the
// transaction of its effect, so an event delivered twice acts once. Room
// events move the show, participant events its viewer sessions, and
// egress events its recording and replay. Events of rooms that are no
// show's are recorded and otherwise ignored.
func (s *Service) HandleEvent(ctx context.Context, ev *livekit.WebhookEvent) error {
	if ev.Id == "" || ev.Event == "" {
		return fmt.Errorf("%w: the event has no id or type", ErrWebhookRejected)
	}
	room := ""
	switch {
	case ev.Room != nil:
		room = ev.Room.Name
	case ev.EgressInfo != nil:
		room = ev.EgressInfo.RoomName
	case ev.IngressInfo != nil:
		room = ev.IngressInfo.RoomName
	}
	received := s.now()
	at := eventTime(ev, received)
	var touched string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(&LiveKitEvent{ID: ev.Id, Event: ev.Event, RoomName: room, CreatedAt: at, ReceivedAt: s.now()}).
			On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("record event %s: %w", ev.Id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if room == "" {
			return nil
		}
		show, err := showByRoom(ctx, tx, room)
		if errors.Is(err, ErrShowNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		touched = show.ID
		switch ev.Event {
		case webhook.EventRoomStarted:
			if show.Status == StatusScheduled {
				return s.goLive(ctx, tx, show, ActorLiveKit, at)
			}
		case webhook.EventRoomFinished:
			if show.Status == StatusLive {
				return s.end(ctx, tx, show, ActorLiveKit, at)
			}
		case webhook.EventParticipantJoined:
			return s.participantEvent(ctx, tx, show, ev.Participant, nil)
		case webhook.EventParticipantLeft, webhook.EventParticipantConnectionAborted:
			left := leaveTime(ev, received)
			return s.participantEvent(ctx, tx, show, ev.Participant, &left)
		case webhook.EventEgressStarted, webhook.EventEgressUpdated:
			return s.egressProgress(ctx, tx, show, ev.EgressInfo)
		case webhook.EventEgressEnded:
			if ev.EgressInfo != nil {
				return s.egressEnded(ctx, tx, show, ev.EgressInfo, at)
			}
		}
		return nil
	})
	if err == nil && touched != "" && changesHot(ev.Event) {
		s.forget(touched)
		if ev.Event == webhook.EventRoomFinished {
			s.dropChat(ctx, touched)
		}
	}
	return err
}

// eventTime dates an event. LiveKit stamps events in whole seconds, while
// participants' joins are in milliseconds: an event that arrives within its
// second is dated by its arrival, which is closer to the truth; a late one
// (a retry) by its stamp.
func eventTime(ev *livekit.WebhookEvent, received time.Time) time.Time {
	if ev.CreatedAt <= 0 {
		return received
	}
	stamped := time.Unix(ev.CreatedAt, 0).UTC()
	if received.Before(stamped) || !received.Before(stamped.Add(time.Second)) {
		return stamped
	}
	return received
}

// leaveTime dates a viewer's leave: as eventTime, except that a leave
// arriving after its second is dated at that second's last millisecond,
// not its first. The leave happened somewhere in that second, and joins
// are dated in milliseconds: a viewer who joined early in a second and
// another who left later in it, reported late, would otherwise seem never
// to have been in the room together, and the peak recounted from the
// sessions (exactPeak, at reconciliation) would miss a viewer the room
// really held.
func leaveTime(ev *livekit.WebhookEvent, received time.Time) time.Time {
	at := eventTime(ev, received)
	if ev.CreatedAt <= 0 {
		return at
	}
	if last := time.Unix(ev.CreatedAt, 0).UTC().Add(time.Second - time.Millisecond); received.After(last) {
		return last
	}
	return at
}

// participantEvent records a viewer's join (left nil) or leave.
func (s *Service) participantEvent(ctx context.Context, tx bun.Tx, show *Show, info *livekit.ParticipantInfo, left *time.Time) error {
	if info == nil {
		return nil
	}
	p := participantOf(info)
	if !isViewer(p) || p.SID == "" {
		return nil
	}
	var joined *time.Time
	if info.JoinedAtMs > 0 || info.JoinedAt > 0 {
		joined = &p.JoinedAt
	}
	now := s.now()
	if err := touchSession(ctx, tx, show.ID, p.Identity, p.SID, joined, left, now); err != nil {
		return err
	}
	if show.Status != StatusLive {
		return nil
	}
	return refreshViewers(ctx, tx, show, now)
}

// egressProgress notes that the recording runs.
func (s *Service) egressProgress(ctx context.Context, tx bun.Tx, show *Show, info *livekit.EgressInfo) error {
	if info == nil || info.Status != livekit.EgressStatus_EGRESS_ACTIVE || show.Status != StatusLive {
		return nil
	}
	if show.RecordingStatus == RecordingActive && show.EgressID == info.EgressId {
		return nil
	}
	show.RecordingStatus, show.RecordingNote = RecordingActive, ""
	if show.EgressID == "" {
		show.EgressID = info.EgressId
	}
	return updateShow(ctx, tx, show, s.now(), "recording_status", "recording_note", "egress_id")
}

// eventIDsKeptFor is how long the id of an applied webhook event is kept.
// LiveKit signs each delivery with a token valid for five minutes, so a
// copy arriving later is refused before its id is looked at; a day is a
// wide margin for clock skew.
const eventIDsKeptFor = 24 * time.Hour

// PruneWebhookEvents deletes the ids of webhook events applied more than
// eventIDsKeptFor ago. It returns how many went.
func (s *Service) PruneWebhookEvents(ctx context.Context) (int64, error) {
	return database.DeleteInBatches(ctx, s.db, "livekit_events", "id", "received_at < ?", s.now().Add(-eventIDsKeptFor))
}

// changesHot reports whether an event may change what the chat path
// caches of a show (its status and HLS address): viewers joining and
// leaving, by the hundred a second in a busy show, do not, and forgetting
// the show at each would send its comments and likes to the database.
func changesHot(event string) bool {
	switch event {
	case webhook.EventParticipantJoined, webhook.EventParticipantLeft, webhook.EventParticipantConnectionAborted:
		return false
	}
	return true
}
