package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/livekit/protocol/livekit"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/outbox"
)

// Replay is the recording of an ended show with its chapters.
type Replay struct {
	bun.BaseModel `bun:"table:replays"`

	ShowID     string    `bun:"show_id,pk"`
	EgressID   string    `bun:"egress_id,notnull"`
	URL        string    `bun:"url,notnull"`
	DurationMS int64     `bun:"duration_ms,notnull"`
	Chapters   []Chapter `bun:"chapters,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
}

// The kinds of chapter.
const (
	ChapterProduct   = "product"
	ChapterFlashSale = "flash_sale"
	ChapterChatPeak  = "chat_peak"
)

// Chapter is a point of a replay worth jumping to: a pinned product, a
// flash sale, or a peak of chat.
type Chapter struct {
	Kind        string `json:"kind"`
	Title       string `json:"title"`
	OffsetMS    int64  `json:"offset_ms"`
	ProductID   string `json:"product_id,omitempty"`
	FlashSaleID string `json:"flash_sale_id,omitempty"`
	Comments    int    `json:"comments,omitempty"`
}

// Replay returns the replay of a show whose replay is ready.
func (s *Service) Replay(ctx context.Context, showID string) (*Replay, error) {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return nil, err
	}
	if show.Status != StatusReplayReady {
		return nil, ErrReplayNotReady
	}
	return replayOf(ctx, s.db, showID)
}

func replayOf(ctx context.Context, db bun.IDB, showID string) (*Replay, error) {
	rp := new(Replay)
	if err := db.NewSelect().Model(rp).Where("show_id = ?", showID).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, ErrReplayNotReady
		}
		return nil, fmt.Errorf("read replay: %w", err)
	}
	return rp, nil
}

// egressEnded records how a show's recording ended: a file makes the
// replay (ready at once when the show has ended), a failure says so on the
// show.
func (s *Service) egressEnded(ctx context.Context, tx bun.Tx, show *Show, info *livekit.EgressInfo, at time.Time) error {
	var url string
	var duration time.Duration
	for _, f := range info.FileResults {
		if url = f.Location; url == "" {
			url = s.mediaURL(f.Filename)
		}
		duration = time.Duration(f.Duration)
		if url != "" {
			break
		}
	}
	complete := info.Status == livekit.EgressStatus_EGRESS_COMPLETE || info.Status == livekit.EgressStatus_EGRESS_LIMIT_REACHED
	if !complete || url == "" {
		note := info.Error
		if note == "" {
			note = "the recording ended without a file (" + info.Status.String() + ")"
		}
		show.RecordingStatus, show.RecordingNote, show.HLSURL = RecordingFailed, note, ""
		if err := updateShow(ctx, tx, show, s.now(), "recording_status", "recording_note", "hls_url"); err != nil {
			return err
		}
		return addEvent(ctx, tx, show.ID, EventRecordingFailed, ActorLiveKit, at, map[string]any{"egress_id": info.EgressId, "note": note})
	}
	rp := &Replay{ShowID: show.ID, EgressID: info.EgressId, URL: url, DurationMS: duration.Milliseconds(), Chapters: []Chapter{}, CreatedAt: s.now()}
	if _, err := tx.NewInsert().Model(rp).On("CONFLICT (show_id) DO NOTHING").Exec(ctx); err != nil {
		return fmt.Errorf("record replay: %w", err)
	}
	show.RecordingStatus, show.RecordingNote, show.HLSURL = RecordingComplete, "", ""
	if show.EgressID == "" {
		show.EgressID = info.EgressId
	}
	if err := updateShow(ctx, tx, show, s.now(), "recording_status", "recording_note", "hls_url", "egress_id"); err != nil {
		return err
	}
	if show.Status != StatusEnded {
		// Still live: the replay becomes ready when the show ends.
		return nil
	}
	rp, err := replayOf(ctx, tx, show.ID)
	if err != nil {
		return err
	}
	return s.replayReady(ctx, tx, show, rp, ActorLiveKit)
}

// replayReady moves an ended show to replay_ready in tx: the chapters are
// drawn from its timeline and chat, and the replay notices are queued.
func (s *Service) replayReady(ctx context.Context, tx bun.Tx, show *Show, rp *Replay, actor string) error {
	chapters, err := chaptersOf(ctx, tx, show)
	if err != nil {
		return err
	}
	rp.Chapters = chapters
	if _, err := tx.NewUpdate().Model(rp).Column("chapters").WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("store chapters: %w", err)
	}
	show.Status = StatusReplayReady
	if err := updateShow(ctx, tx, show, s.now(), "status"); err != nil {
		return err
	}
	if err := addEvent(ctx, tx, show.ID, EventReplayReady, actor, s.now(), map[string]any{"url": rp.URL, "chapters": len(chapters)}); err != nil {
		return err
	}
	return outbox.Add(ctx, tx, outbox.Message{
		ID: "live-replay:" + show.ID, TaskType: TaskFanOutReplay, Payload: ShowTask{ShowID: show.ID},
	})
}

// Chat peaks: a minute of chat is a peak when it holds at least
// peakMinComments comments and twice the show's average minute, and no
// fewer than the minutes beside it; the busiest maxPeaks become chapters.
const (
	peakMinComments = 10
	maxPeaks        = 3
)

// chaptersOf draws a show's chapters: each pinned product and flash sale
// from the timeline, and the chat peaks, each at its offset from the start.
func chaptersOf(ctx context.Context, db bun.IDB, show *Show) ([]Chapter, error) {
	if show.LiveAt == nil || show.EndedAt == nil {
		return []Chapter{}, nil
	}
	start, end := *show.LiveAt, *show.EndedAt
	offset := func(t time.Time) int64 { return max(t.Sub(start).Milliseconds(), 0) }
	evs, err := timeline(ctx, db, show.ID)
	if err != nil {
		return nil, err
	}
	out := []Chapter{}
	for _, ev := range evs {
		if ev.At.Before(start) || ev.At.After(end) {
			continue
		}
		var d struct {
			ProductID   string `json:"product_id"`
			Title       string `json:"title"`
			FlashSaleID string `json:"flash_sale_id"`
		}
		_ = json.Unmarshal(ev.Data, &d)
		switch ev.Kind {
		case EventProductPinned:
			title := d.Title
			if title == "" {
				title = d.ProductID
			}
			out = append(out, Chapter{Kind: ChapterProduct, Title: title, OffsetMS: offset(ev.At), ProductID: d.ProductID})
		case EventFlashSale:
			out = append(out, Chapter{Kind: ChapterFlashSale, Title: "限时秒杀", OffsetMS: offset(ev.At), ProductID: d.ProductID, FlashSaleID: d.FlashSaleID})
		}
	}
	peaks, err := chatPeaks(ctx, db, show.ID, start, end)
	if err != nil {
		return nil, err
	}
	out = append(out, peaks...)
	slices.SortStableFunc(out, func(a, b Chapter) int { return int(a.OffsetMS - b.OffsetMS) })
	return out, nil
}

// chatPeaks finds the busiest minutes of chat.
func chatPeaks(ctx context.Context, db bun.IDB, showID string, start, end time.Time) ([]Chapter, error) {
	var times []time.Time
	if err := db.NewSelect().Model((*Comment)(nil)).Column("created_at").
		Where("show_id = ? AND status <> ?", showID, CommentHidden).Scan(ctx, &times); err != nil {
		return nil, fmt.Errorf("read chat times: %w", err)
	}
	minutes := int(end.Sub(start)/time.Minute) + 1
	counts := make([]int, minutes)
	total := 0
	for _, t := range times {
		if t.Before(start) || t.After(end) {
			continue
		}
		counts[int(t.Sub(start)/time.Minute)]++
		total++
	}
	if total == 0 {
		return nil, nil
	}
	threshold := max(peakMinComments, 2*total/minutes)
	var peaks []Chapter
	for i, n := range counts {
		if n < threshold || (i > 0 && counts[i-1] > n) || (i+1 < minutes && counts[i+1] > n) {
			continue
		}
		peaks = append(peaks, Chapter{Kind: ChapterChatPeak, Title: "弹幕高峰", OffsetMS: int64(i) * time.Minute.Milliseconds(), Comments: n})
	}
	slices.SortStableFunc(peaks, func(a, b Chapter) int { return b.Comments - a.Comments })
	if len(peaks) > maxPeaks {
		peaks = peaks[:maxPeaks]
	}
	return peaks, nil
}

// FanOutReplayNotices queues a replay notice for each member who reserved
// the show and each viewer who watched less than ReplayWatchBelow, once
// per show.
func (s *Service) FanOutReplayNotices(ctx context.Context, showID string) error {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return err
	}
	if show.Status != StatusReplayReady || s.cfg.ReplayTemplate.ID == "" {
		return nil
	}
	var reserved []string
	if err := s.db.NewSelect().Model((*Reservation)(nil)).Column("member_id").Where("show_id = ?", showID).Scan(ctx, &reserved); err != nil {
		return fmt.Errorf("read reservations: %w", err)
	}
	var sessions []ViewerSession
	if err := s.db.NewSelect().Model(&sessions).Where("show_id = ? AND joined_at IS NOT NULL", showID).Scan(ctx); err != nil {
		return fmt.Errorf("read viewer sessions: %w", err)
	}
	watched := map[string]time.Duration{}
	for _, v := range sessions {
		end := *show.EndedAt
		if v.LeftAt != nil {
			end = *v.LeftAt
		}
		// A viewer whose sessions add up to nothing still watched.
		watched[v.Identity] += max(end.Sub(*v.JoinedAt), 0)
	}
	recipients := slices.Clone(reserved)
	for id, d := range watched {
		if d < s.cfg.ReplayWatchBelow {
			recipients = append(recipients, id)
		}
	}
	slices.Sort(recipients)
	recipients = slices.Compact(recipients)
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		first, err := outbox.MarkProcessed(ctx, tx, TaskFanOutReplay, showID)
		if err != nil || !first {
			return err
		}
		const chunk = 500
		for i := 0; i < len(recipients); i += chunk {
			msgs := make([]outbox.Message, 0, chunk)
			for _, m := range recipients[i:min(i+chunk, len(recipients))] {
				msgs = append(msgs, outbox.Message{
					ID: "live-replay-notice:" + showID + ":" + m, TaskType: TaskSendReplayNotice, Queue: "low",
					Payload: ReplayNoticeTask{ShowID: showID, MemberID: m},
				})
			}
			if err := outbox.Add(ctx, tx, msgs...); err != nil {
				return err
			}
		}
		return nil
	})
}

// SendReplayNotice sends one member the replay notice of a show, once, when
// they have consent for it.
func (s *Service) SendReplayNotice(ctx context.Context, t ReplayNoticeTask) error {
	show, err := getShow(ctx, s.db, t.ShowID)
	if err != nil {
		return err
	}
	if show.Status != StatusReplayReady {
		return nil
	}
	return s.notify(ctx, "live-replay:"+t.ShowID+":"+t.MemberID, t.MemberID, s.cfg.ReplayTemplate, show)
}
