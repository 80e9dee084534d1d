package miniprogramapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
)

// Shows is what the shopper API needs of the live domain (*live.Service).
type Shows interface {
	ListShows(ctx context.Context, f live.ShowFilter) ([]live.Show, error)
	Show(ctx context.Context, id string) (*live.Show, error)
	Counts(ctx context.Context, id string) (live.Counts, error)
	Lineup(ctx context.Context, id string) ([]live.LineupItem, error)
	Join(ctx context.Context, showID, memberID string) (live.Join, error)
	PostComment(ctx context.Context, showID, memberID, text string) (*live.Comment, error)
	CommentHistory(ctx context.Context, showID, before string, limit int) ([]live.Comment, error)
	Like(ctx context.Context, showID, memberID string, count int) (int64, error)
	Reserve(ctx context.Context, showID, memberID string, templateIDs []string) (*live.Reservation, error)
	Replay(ctx context.Context, showID string) (*live.Replay, error)
}

// shopperStatuses are the shows shoppers see.
var shopperStatuses = []live.Status{live.StatusScheduled, live.StatusLive, live.StatusEnded, live.StatusReplayReady}

// showPath names a show.
type showPath struct {
	ID string `path:"id"`
}

// listShowsRequest filters GET /shows.
type listShowsRequest struct {
	Status string `query:"status" enum:"scheduled,live,ended,replay_ready" description:"Only shows in this status."`
	Limit  int    `query:"limit" minimum:"1" maximum:"100" description:"At most 100; 20 by default."`
	Offset int    `query:"offset" minimum:"0"`
}

// showHost is a show's host as shoppers see them.
type showHost struct {
	Name string `json:"name"`
}

// pinnedBody is the product being presented (讲解中).
type pinnedBody struct {
	ProductID string    `json:"product_id"`
	PinnedAt  time.Time `json:"pinned_at"`
	// Item is the product's cheapest lineup line, when the lineup is known.
	Item *live.LineupItem `json:"item,omitempty"`
}

// showBody is a show as shoppers see it.
type showBody struct {
	ID           string     `json:"id"`
	Title        string     `json:"title"`
	CoverURL     string     `json:"cover_url"`
	ScheduledAt  time.Time  `json:"scheduled_at"`
	Status       string     `json:"status" enum:"scheduled,live,ended,replay_ready"`
	Mode         string     `json:"mode" enum:"webrtc,hls,both"`
	Host         showHost   `json:"host"`
	LiveAt       *time.Time `json:"live_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	Announcement string     `json:"announcement,omitempty"`
	// Pinned is the product being presented now, if any.
	Pinned *pinnedBody `json:"pinned_product,omitempty"`
	Counts live.Counts `json:"counts"`
	// Lineup is what the show sells at its live prices (fen); it is
	// absent from lists, and absent when the catalog is not connected.
	Lineup []live.LineupItem `json:"lineup,omitempty"`
}

func showOut(s *live.Show) showBody {
	b := showBody{
		ID: s.ID, Title: s.Title, CoverURL: s.CoverURL, ScheduledAt: s.ScheduledAt, Status: string(s.Status),
		Mode: string(s.Mode), Host: showHost{Name: s.HostName}, LiveAt: s.LiveAt, EndedAt: s.EndedAt,
		Announcement: s.Announcement,
		Counts:       live.Counts{Viewers: s.Viewers, PeakViewers: s.PeakViewers, Likes: s.Likes},
	}
	if s.PinnedProductID != "" && s.PinnedAt != nil {
		b.Pinned = &pinnedBody{ProductID: s.PinnedProductID, PinnedAt: *s.PinnedAt}
	}
	return b
}

// showsBody is a page of shows.
type showsBody struct {
	Shows []showBody `json:"shows"`
}

// listShows answers the shows shoppers may see, latest first.
func (a *API) listShows(c *fiber.Ctx) error {
	f := live.ShowFilter{Statuses: shopperStatuses, Limit: c.QueryInt("limit", 20), Offset: c.QueryInt("offset", 0)}
	if f.Limit < 1 || f.Limit > 100 || f.Offset < 0 {
		return edge.BadRequest("invalid_page", "limit is 1 to 100 and offset not negative")
	}
	if st := c.Query("status"); st != "" {
		if !slices.Contains(shopperStatuses, live.Status(st)) {
			return edge.BadRequest("invalid_status", "status is scheduled, live, ended or replay_ready")
		}
		f.Statuses = []live.Status{live.Status(st)}
	}
	shows, err := a.shows.ListShows(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := showsBody{Shows: make([]showBody, len(shows))}
	for i := range shows {
		out.Shows[i] = showOut(&shows[i])
	}
	return c.JSON(out)
}

// getShow answers one show with its lineup, pinned product and counts.
func (a *API) getShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s, err := a.shows.Show(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	if s.Status == live.StatusCancelled {
		return live.ErrShowNotFound
	}
	b := showOut(s)
	if b.Counts, err = a.shows.Counts(ctx, s.ID); err != nil {
		return err
	}
	lineup, err := a.shows.Lineup(ctx, s.ID)
	switch {
	case errors.Is(err, live.ErrCatalogUnavailable):
		// No catalog connected: the answer has no lineup rather than a
		// made-up one.
	case err != nil:
		return err
	default:
		b.Lineup = lineup
		if b.Pinned != nil {
			for i := range lineup {
				if lineup[i].ProductID == b.Pinned.ProductID && (b.Pinned.Item == nil || lineup[i].LivePrice < b.Pinned.Item.LivePrice) {
					b.Pinned.Item = &lineup[i]
				}
			}
		}
	}
	return c.JSON(b)
}

// joinBody is what the mini-program needs to play a live show.
type joinBody struct {
	LiveKitURL string    `json:"livekit_url"`
	Token      string    `json:"token" description:"A subscribe-only LiveKit token for this room; join again before expires_at to refresh it."`
	Room       string    `json:"room"`
	ExpiresAt  time.Time `json:"expires_at"`
	// HLSURL is the live playlist in HLS mode (empty when Egress is not
	// recording).
	HLSURL         string        `json:"hls_url"`
	RecentComments []commentBody `json:"recent_comments" description:"The latest visible comments (20, what a phone shows over the video), oldest first; older ones come from GET /shows/{id}/comments with before=the first one's id, newer ones with the room's chat batches."`
}

// joinShow gives the member a viewer token for a live show. The answer
// is joinBody, written as its parts: the member's token and expiry, then
// what every viewer of the show gets alike, encoded once (joinJSON).
func (a *API) joinShow(c *fiber.Ctx) error {
	showID := c.Params("id")
	j, err := a.shows.Join(c.UserContext(), showID, memberID(c))
	if err != nil {
		return liveProblem(err)
	}
	shared, recent, err := a.join.parts(showID, &j)
	if err != nil {
		return err
	}
	res := c.Response()
	res.Header.SetContentType(fiber.MIMEApplicationJSON)
	var head [1024]byte
	res.AppendBody(appendJoinHead(head[:0], &j))
	res.AppendBody(shared)
	res.AppendBody(recent)
	res.AppendBodyString("}")
	return nil
}

// likeRequest is the body of POST /shows/:id/likes.
type likeRequest struct {
	ID    string `path:"id" json:"-"`
	Count int    `json:"count" minimum:"1" maximum:"100" description:"Taps since the last call."`
}

// likesBody is the show's like total.
type likesBody struct {
	Total int64 `json:"total"`
}

// likeShow adds the member's likes.
func (a *API) likeShow(c *fiber.Ctx) error {
	var req likeRequest
	if err := decodeBody(c, &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be {\"count\": n}")
	}
	total, err := a.shows.Like(c.UserContext(), c.Params("id"), memberID(c), req.Count)
	if err != nil {
		return liveProblem(err)
	}
	return c.Status(http.StatusAccepted).JSON(likesBody{Total: total})
}

// reserveRequest is the body of POST /shows/:id/reservation.
type reserveRequest struct {
	ID          string   `path:"id" json:"-"`
	TemplateIDs []string `json:"template_ids" maxItems:"3" description:"The subscribe-message templates the shopper accepted in wx.requestSubscribeMessage (each accept is one consent)."`
}

// reservationBody is a reservation.
type reservationBody struct {
	ShowID      string    `json:"show_id"`
	TemplateIDs []string  `json:"template_ids"`
	CreatedAt   time.Time `json:"created_at"`
}

// reserveShow records the member's reservation and consents.
func (a *API) reserveShow(c *fiber.Ctx) error {
	var req reserveRequest
	if err := c.BodyParser(&req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be {\"template_ids\": [...]}")
	}
	r, err := a.shows.Reserve(c.UserContext(), c.Params("id"), memberID(c), req.TemplateIDs)
	if err != nil {
		return liveProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(reservationBody{ShowID: r.ShowID, TemplateIDs: r.TemplateIDs, CreatedAt: r.CreatedAt})
}

// replayBody is a replay with its chapters.
type replayBody struct {
	URL        string         `json:"url"`
	DurationMS int64          `json:"duration_ms"`
	Chapters   []live.Chapter `json:"chapters"`
}

// getReplay answers the recording and its chapters.
func (a *API) getReplay(c *fiber.Ctx) error {
	rp, err := a.shows.Replay(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(replayBody{URL: rp.URL, DurationMS: rp.DurationMS, Chapters: rp.Chapters})
}

// liveProblem gives the live domain's typed errors their detailed answer;
// sentinels go to the error table.
func liveProblem(err error) error {
	var ve *live.ValidationError
	if errors.As(err, &ve) {
		return edge.BadRequest("invalid_"+ve.Field, ve.Error())
	}
	return err
}
