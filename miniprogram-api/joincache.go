package miniprogramapi

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/siyu-live/siyu/live"
)

// joinJSON remembers, per show, the JSON of what every join of the show
// answers alike: the LiveKit URL, the room, the HLS playlist and the
// recent comments. live hands every join of a show the same comment slice
// until it reads the comments again (about once a second), so a crowd
// joining at once is answered with one encoding instead of one each, and
// a join only writes its own token and expiry.
type joinJSON struct {
	mu    sync.Mutex
	shows map[string]*joinParts
}

// joinParts are one show's encoded parts.
type joinParts struct {
	liveKitURL, room, hlsURL string
	// shared is `"livekit_url":…,"room":…,"hls_url":…,"recent_comments":`.
	shared []byte

	first  *live.Comment // identifies the slice encoded
	n      int
	recent []byte
}

// maxJoinShows bounds the shows remembered; past it the cache starts again
// (live shows at once are few).
const maxJoinShows = 1000

// sharedHead is the part of joinBody every viewer of a show gets alike.
type sharedHead struct {
	LiveKitURL string `json:"livekit_url"`
	Room       string `json:"room"`
	HLSURL     string `json:"hls_url"`
}

// parts returns the shared fields and the recent comments of j as JSON,
// encoded again only when they changed.
func (r *joinJSON) parts(showID string, j *live.Join) (shared, recent []byte, err error) {
	r.mu.Lock()
	p := r.shows[showID]
	r.mu.Unlock()
	if p != nil && p.liveKitURL == j.LiveKitURL && p.room == j.Room && p.hlsURL == j.HLSURL && p.sameComments(j.RecentComments) {
		return p.shared, p.recent, nil
	}
	next := &joinParts{liveKitURL: j.LiveKitURL, room: j.Room, hlsURL: j.HLSURL, n: len(j.RecentComments)}
	if p != nil && p.liveKitURL == j.LiveKitURL && p.room == j.Room && p.hlsURL == j.HLSURL {
		next.shared = p.shared
	} else {
		head, err := json.Marshal(sharedHead{LiveKitURL: j.LiveKitURL, Room: j.Room, HLSURL: j.HLSURL})
		if err != nil {
			return nil, nil, err
		}
		next.shared = append(head[1:len(head)-1:len(head)-1], `,"recent_comments":`...)
	}
	if p != nil && p.sameComments(j.RecentComments) {
		next.first, next.recent = p.first, p.recent
	} else {
		next.recent = []byte("[]")
		if len(j.RecentComments) > 0 {
			next.first = &j.RecentComments[0]
			if next.recent, err = json.Marshal(commentsOut(j.RecentComments)); err != nil {
				return nil, nil, err
			}
		}
	}
	r.mu.Lock()
	if r.shows == nil || len(r.shows) >= maxJoinShows {
		r.shows = map[string]*joinParts{}
	}
	// The id may point into a request buffer the HTTP server reuses: the
	// map keeps a copy.
	r.shows[strings.Clone(showID)] = next
	r.mu.Unlock()
	return next.shared, next.recent, nil
}

// sameComments reports whether comments is the slice p encoded.
func (p *joinParts) sameComments(comments []live.Comment) bool {
	if len(comments) == 0 {
		return p.n == 0 && p.recent != nil
	}
	return p.first == &comments[0] && p.n == len(comments)
}

// appendJoinHead appends the start of j's answer (joinBody): its own
// token and expiry; the parts every viewer of the show shares follow. A
// LiveKit token is base64url and dots: it needs no escaping.
func appendJoinHead(b []byte, j *live.Join) []byte {
	b = append(b, `{"token":"`...)
	b = append(b, j.Token...)
	b = append(b, `","expires_at":"`...)
	b = j.ExpiresAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `",`...)
}
