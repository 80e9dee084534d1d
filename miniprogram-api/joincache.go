package miniprogramapi

import (
	"encoding/json"
	"sync"

	"github.com/siyu-live/siyu/live"
)

// recentJSON remembers, per show, the JSON of the recent comments the
// last join answered with. live hands every join of a show the same slice
// until it reads the comments again (about once a second), so a crowd
// joining at once is answered with one encoding instead of one each:
// encoding fifty comments was most of a join's cost.
type recentJSON struct {
	mu    sync.Mutex
	shows map[string]encodedComments
}

type encodedComments struct {
	first *live.Comment // identifies the slice encoded
	n     int
	raw   json.RawMessage
}

// maxRecentShows bounds the shows remembered; past it the cache starts
// again (live shows at once are few).
const maxRecentShows = 1000

// encode returns the JSON of comments as commentsOut renders them.
func (r *recentJSON) encode(showID string, comments []live.Comment) (json.RawMessage, error) {
	if len(comments) == 0 {
		return json.RawMessage("[]"), nil
	}
	r.mu.Lock()
	e, ok := r.shows[showID]
	r.mu.Unlock()
	if ok && e.first == &comments[0] && e.n == len(comments) {
		return e.raw, nil
	}
	raw, err := json.Marshal(commentsOut(comments))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.shows == nil || len(r.shows) >= maxRecentShows {
		r.shows = map[string]encodedComments{}
	}
	r.shows[showID] = encodedComments{first: &comments[0], n: len(comments), raw: raw}
	r.mu.Unlock()
	return raw, nil
}
