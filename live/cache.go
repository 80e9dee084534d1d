package live

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
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

	// viewer are the claims every viewer token of the room shares
	// (viewerSigner.viewerClaims), encoded at the first join.
	viewerOnce sync.Once
	viewer     []byte
	viewerErr  error

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
	loads singleflight.Group
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
	// The requests in flight find the entry stale at once: one reads the
	// show again and the others wait for it. The read serves them all, so
	// it does not end with the first one's request. (The key is a copy:
	// the id may point into a request buffer the HTTP server reuses.)
	v, err, _ := s.hotc.loads.Do(strings.Clone(showID), func() (any, error) {
		return s.loadHot(context.WithoutCancel(ctx), showID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*hotShow), nil
}

// loadHot reads what hot caches of a show and caches it.
func (s *Service) loadHot(ctx context.Context, showID string) (*hotShow, error) {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return nil, err
	}
	var rows []Ban
	if err := s.db.NewSelect().Model(&rows).Where("show_id = ?", showID).Scan(ctx); err != nil {
		return nil, err
	}
	h := &hotShow{status: show.Status, likes: show.Likes, muted: map[string]bool{}, removed: map[string]bool{}, room: show.RoomName, at: time.Now()}
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
	// The id may point into a request buffer the HTTP server reuses: the
	// cache keeps a copy.
	s.hotc.shows[strings.Clone(showID)] = h
	s.hotc.mu.Unlock()
	return h, nil
}

// forget drops a show from the cache after a change made here.
func (s *Service) forget(showID string) {
	s.hotc.mu.Lock()
	delete(s.hotc.shows, showID)
	s.hotc.mu.Unlock()
	// A read in flight may have started before the change: the next one
	// does not wait for it.
	s.hotc.loads.Forget(showID)
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
