package live

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// hotTTL is how long a replica trusts what it read of a live show for the
// chat path (its status and bans): comments and likes arrive by the
// thousand a second, and a show's status or bans change rarely. Changes
// made on this replica are seen at once; others see them within hotTTL.
const hotTTL = time.Second

// hotRefreshAfter is the age at which a show still in use is read again
// in the background, so that its requests find a fresh entry and none
// waits for the read: before, every second the whole crowd of a show
// stopped for one database round trip (make bench: likes, all to one
// show, kept the API's core 15% idle). A show nobody asked for in the
// last quarter of hotTTL is read again by its next request, as before.
const hotRefreshAfter = hotTTL * 3 / 4

// hotShow is what the chat and join paths need of a show.
type hotShow struct {
	status  Status
	likes   int64
	muted   map[string]bool
	removed map[string]bool
	room    string
	hlsURL  string // in HLS mode
	at      time.Time

	// refreshing is set once a read in the background has begun to
	// replace this entry (hotRefreshAfter).
	refreshing atomic.Bool

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
	// forgets counts forget calls: a read that began before one, of any
	// show (they are rare), does not store what it read, which may predate
	// the change.
	forgets uint64
	loads   singleflight.Group
}

// hot returns what the chat path needs of a show, from the cache when it
// is fresh. An entry near the end of its life is read again in the
// background meanwhile.
func (s *Service) hot(ctx context.Context, showID string) (*hotShow, error) {
	s.hotc.mu.Lock()
	h := s.hotc.shows[showID]
	s.hotc.mu.Unlock()
	if h != nil {
		if age := time.Since(h.at); age < hotTTL {
			if age >= hotRefreshAfter && h.refreshing.CompareAndSwap(false, true) {
				s.refreshHot(ctx, h, showID)
			}
			return h, nil
		}
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

// refreshHot reads h's show again in the background. The id may point
// into a request buffer the HTTP server reuses: the read keeps a copy. It
// is the same read as hot's, so a request finding the entry stale
// meanwhile waits for it rather than reading again.
func (s *Service) refreshHot(ctx context.Context, h *hotShow, showID string) {
	id := strings.Clone(showID)
	read := s.hotc.loads.DoChan(id, func() (any, error) {
		return s.loadHot(context.WithoutCancel(ctx), id)
	})
	go func() {
		if res := <-read; res.Err != nil {
			// The next request past hotRefreshAfter tries again; past
			// hotTTL one reads it in its own time.
			h.refreshing.Store(false)
			s.log.Warn("live: read a show again for the chat path", "show_id", id, "err", res.Err)
		}
	}()
}

// loadHot reads what hot caches of a show and caches it.
func (s *Service) loadHot(ctx context.Context, showID string) (*hotShow, error) {
	s.hotc.mu.Lock()
	forgets := s.hotc.forgets
	s.hotc.mu.Unlock()
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
	s.hotc.store(showID, h, forgets)
	return h, nil
}

// store caches h unless a forget came after the read that made it began
// (forgets is the count then): that read may predate the change, and the
// next one reads it.
func (c *hotCache) store(showID string, h *hotShow, forgets uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets != forgets {
		return
	}
	if c.shows == nil {
		c.shows = map[string]*hotShow{}
	}
	// Shows that ended long ago are dropped as the cache is refilled.
	for id, old := range c.shows {
		if time.Since(old.at) > time.Minute {
			delete(c.shows, id)
		}
	}
	// The id may point into a request buffer the HTTP server reuses: the
	// cache keeps a copy.
	c.shows[strings.Clone(showID)] = h
}

// forget drops a show from the cache after a change made here.
func (s *Service) forget(showID string) {
	s.hotc.mu.Lock()
	delete(s.hotc.shows, showID)
	s.hotc.forgets++
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
