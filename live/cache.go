package live

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// hotTTL is how long a replica trusts what it read of a live show for the
// chat path (its status and bans): comments and likes arrive by the
// thousand a second, and a show's status or bans change rarely. Changes
// made on this replica are seen at once; others see them within hotTTL.
const hotTTL = time.Second

// hotShow is what the chat and join paths need of a show.
type hotShow struct {
	status  Status
	likes   int64
	muted   map[string]bool
	removed map[string]bool
	room    string
	hlsURL  string // in HLS mode
	at      time.Time
	// listed is set once the show is known to be in the broadcaster's set
	// of rooms (chatRooms).
	listed atomic.Bool

	// recent are the latest visible comments joins answer with, read at
	// recentAt: at most hotTTL old, like the rest.
	recentMu sync.Mutex
	recent   []Comment
	recentAt time.Time
}

// hotCache holds hotShow by show id.
type hotCache struct {
	mu    sync.Mutex
	shows map[string]*hotShow
}

// hot returns what the chat path needs of a show, from the cache when it
// is fresh.
func (s *Service) hot(ctx context.Context, showID string) (*hotShow, error) {
	s.hotc.mu.Lock()
	h := s.hotc.shows[showID]
	s.hotc.mu.Unlock()
	if h != nil && time.Since(h.at) < hotTTL {
		return h, nil
	}
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return nil, err
	}
	var rows []Ban
	if err := s.db.NewSelect().Model(&rows).Where("show_id = ?", showID).Scan(ctx); err != nil {
		return nil, err
	}
	h = &hotShow{status: show.Status, likes: show.Likes, muted: map[string]bool{}, removed: map[string]bool{}, room: show.RoomName, at: time.Now()}
	if show.Mode.HLS() {
		h.hlsURL = show.HLSURL
	}
	for _, b := range rows {
		switch b.Kind {
		case BanMuted:
			h.muted[b.MemberID] = true
		case BanRemoved:
			h.removed[b.MemberID] = true
		}
	}
	s.hotc.mu.Lock()
	if s.hotc.shows == nil {
		s.hotc.shows = map[string]*hotShow{}
	}
	// Shows that ended long ago are dropped as the cache is refilled.
	for id, old := range s.hotc.shows {
		if time.Since(old.at) > time.Minute {
			delete(s.hotc.shows, id)
		}
	}
	s.hotc.shows[showID] = h
	s.hotc.mu.Unlock()
	return h, nil
}

// forget drops a show from the cache after a change made here.
func (s *Service) forget(showID string) {
	s.hotc.mu.Lock()
	delete(s.hotc.shows, showID)
	s.hotc.mu.Unlock()
}

// recentComments returns the show's latest visible comments for a join,
// read again when older than hotTTL: a crowd joining at once costs one
// query a second, and the room's chat batches carry what came since.
func (s *Service) recentComments(ctx context.Context, h *hotShow, showID string) ([]Comment, error) {
	h.recentMu.Lock()
	defer h.recentMu.Unlock()
	if h.recent != nil && time.Since(h.recentAt) < hotTTL {
		return h.recent, nil
	}
	recent, err := s.Comments(ctx, showID, "", s.cfg.RecentComments)
	if err != nil {
		return nil, err
	}
	h.recent, h.recentAt = recent, time.Now()
	return recent, nil
}
