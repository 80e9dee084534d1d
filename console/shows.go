package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/siyu-live/siyu/edge"
	"github.com/siyu-live/siyu/live"
)

// Shows is what the console needs of the live domain (*live.Service).
type Shows interface {
	CreateShow(ctx context.Context, staffID string, in live.ShowInput) (*live.Show, error)
	UpdateShow(ctx context.Context, staffID, showID string, p live.ShowPatch) (*live.Show, error)
	ListShows(ctx context.Context, f live.ShowFilter) ([]live.Show, error)
	Show(ctx context.Context, id string) (*live.Show, error)
	Counts(ctx context.Context, id string) (live.Counts, error)
	Lineup(ctx context.Context, id string) ([]live.LineupItem, error)
	StartShow(ctx context.Context, staffID, showID string) (*live.Show, error)
	EndShow(ctx context.Context, staffID, showID string) (*live.Show, error)
	CancelShow(ctx context.Context, staffID, showID string) (*live.Show, error)
	StaffToken(ctx context.Context, showID string, req live.StaffTokenRequest) (live.StaffToken, error)
	CreateIngress(ctx context.Context, staffID string, privileged bool, showID string, kind live.IngressKind) (live.Ingress, error)
	PerformAction(ctx context.Context, staffID, showID string, a live.Action) (live.ActionResult, error)
	Timeline(ctx context.Context, showID string) ([]live.TimelineEvent, error)
	Blocklist(ctx context.Context) ([]string, error)
	SetBlocklist(ctx context.Context, staffID string, words []string) ([]string, error)
}

// liveShowPath names a show.
type liveShowPath struct {
	ID string `path:"id"`
}

// showInputBody is the body of POST /shows.
type showInputBody struct {
	Title        string    `json:"title" required:"true" maxLength:"60"`
	CoverURL     string    `json:"cover_url" maxLength:"1024"`
	ScheduledAt  time.Time `json:"scheduled_at" required:"true"`
	HostStaffID  string    `json:"host_staff_id" required:"true"`
	HostName     string    `json:"host_name" maxLength:"20" description:"The host's name as shoppers see it."`
	AssistantIDs []string  `json:"assistant_ids" maxItems:"20"`
	Mode         string    `json:"mode" enum:"webrtc,hls,both" description:"How viewers watch: WebRTC, Egress's HLS playlist, or both (webrtc by default)."`
}

// showPatchBody is the body of PATCH /shows/:id; absent fields stay.
type showPatchBody struct {
	ID           string     `path:"id" json:"-"`
	Title        *string    `json:"title,omitempty" maxLength:"60"`
	CoverURL     *string    `json:"cover_url,omitempty" maxLength:"1024"`
	ScheduledAt  *time.Time `json:"scheduled_at,omitempty"`
	HostStaffID  *string    `json:"host_staff_id,omitempty"`
	HostName     *string    `json:"host_name,omitempty" maxLength:"20"`
	AssistantIDs *[]string  `json:"assistant_ids,omitempty" maxItems:"20"`
	Mode         *string    `json:"mode,omitempty" enum:"webrtc,hls,both"`
}

// listShowsRequest filters GET /shows.
type listShowsRequest struct {
	Status string `query:"status" enum:"scheduled,live,ended,replay_ready,cancelled"`
	Limit  int    `query:"limit" minimum:"1" maximum:"100"`
	Offset int    `query:"offset" minimum:"0"`
}

// consoleShow is a show as staff see it.
type consoleShow struct {
	ID              string      `json:"id"`
	Title           string      `json:"title"`
	CoverURL        string      `json:"cover_url"`
	ScheduledAt     time.Time   `json:"scheduled_at"`
	HostStaffID     string      `json:"host_staff_id"`
	HostName        string      `json:"host_name"`
	AssistantIDs    []string    `json:"assistant_ids"`
	Mode            string      `json:"mode" enum:"webrtc,hls,both"`
	Status          string      `json:"status" enum:"scheduled,live,ended,replay_ready,cancelled"`
	Room            string      `json:"room"`
	LiveAt          *time.Time  `json:"live_at,omitempty"`
	EndedAt         *time.Time  `json:"ended_at,omitempty"`
	CancelledAt     *time.Time  `json:"cancelled_at,omitempty"`
	RecordingStatus string      `json:"recording_status" enum:"none,starting,recording,unavailable,failed,complete"`
	RecordingNote   string      `json:"recording_note,omitempty" description:"Why there is no recording, when there is none."`
	HLSURL          string      `json:"hls_url,omitempty"`
	PinnedProductID string      `json:"pinned_product_id,omitempty"`
	Announcement    string      `json:"announcement,omitempty"`
	Counts          live.Counts `json:"counts"`
	// Lineup is absent from lists and when no catalog is connected.
	Lineup    []live.LineupItem `json:"lineup,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

func consoleShowOut(s *live.Show) consoleShow {
	return consoleShow{
		ID: s.ID, Title: s.Title, CoverURL: s.CoverURL, ScheduledAt: s.ScheduledAt, HostStaffID: s.HostStaffID,
		HostName: s.HostName, AssistantIDs: s.AssistantIDs, Mode: string(s.Mode), Status: string(s.Status), Room: s.RoomName,
		LiveAt: s.LiveAt, EndedAt: s.EndedAt, CancelledAt: s.CancelledAt, RecordingStatus: string(s.RecordingStatus),
		RecordingNote: s.RecordingNote, HLSURL: s.HLSURL, PinnedProductID: s.PinnedProductID, Announcement: s.Announcement,
		Counts:    live.Counts{Viewers: s.Viewers, PeakViewers: s.PeakViewers, Likes: s.Likes},
		CreatedAt: s.CreatedAt,
	}
}

// consoleShows is a page of shows.
type consoleShows struct {
	Shows []consoleShow `json:"shows"`
}

// createShow schedules a show.
func (a *API) createShow(c *fiber.Ctx) error {
	var req showInputBody
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a show: title, scheduled_at (RFC 3339), host_staff_id, …")
	}
	s, err := a.shows.CreateShow(c.UserContext(), currentStaff(c).ID, live.ShowInput{
		Title: req.Title, CoverURL: req.CoverURL, ScheduledAt: req.ScheduledAt, HostStaffID: req.HostStaffID,
		HostName: req.HostName, AssistantIDs: req.AssistantIDs, Mode: live.Mode(req.Mode),
	})
	if err != nil {
		return showProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(consoleShowOut(s))
}

// updateShow edits a scheduled show.
func (a *API) updateShow(c *fiber.Ctx) error {
	var req showPatchBody
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be a JSON object of the fields to change")
	}
	p := live.ShowPatch{Title: req.Title, CoverURL: req.CoverURL, ScheduledAt: req.ScheduledAt, HostStaffID: req.HostStaffID,
		HostName: req.HostName, AssistantIDs: req.AssistantIDs}
	if req.Mode != nil {
		m := live.Mode(*req.Mode)
		p.Mode = &m
	}
	s, err := a.shows.UpdateShow(c.UserContext(), currentStaff(c).ID, c.Params("id"), p)
	if err != nil {
		return showProblem(err)
	}
	return c.JSON(consoleShowOut(s))
}

// listShows answers shows, latest first.
func (a *API) listShows(c *fiber.Ctx) error {
	f := live.ShowFilter{Limit: c.QueryInt("limit", 20), Offset: c.QueryInt("offset", 0)}
	if f.Limit < 1 || f.Limit > 100 || f.Offset < 0 {
		return edge.BadRequest("invalid_page", "limit is 1 to 100 and offset not negative")
	}
	if st := live.Status(c.Query("status")); st != "" {
		if !slices.Contains([]live.Status{live.StatusScheduled, live.StatusLive, live.StatusEnded, live.StatusReplayReady, live.StatusCancelled}, st) {
			return edge.BadRequest("invalid_status", "status is scheduled, live, ended, replay_ready or cancelled")
		}
		f.Statuses = []live.Status{st}
	}
	shows, err := a.shows.ListShows(c.UserContext(), f)
	if err != nil {
		return err
	}
	out := consoleShows{Shows: make([]consoleShow, len(shows))}
	for i := range shows {
		out.Shows[i] = consoleShowOut(&shows[i])
	}
	return c.JSON(out)
}

// getShow answers one show with its counts and lineup.
func (a *API) getShow(c *fiber.Ctx) error {
	ctx := c.UserContext()
	s, err := a.shows.Show(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	out := consoleShowOut(s)
	if out.Counts, err = a.shows.Counts(ctx, s.ID); err != nil {
		return err
	}
	lineup, err := a.shows.Lineup(ctx, s.ID)
	switch {
	case errors.Is(err, live.ErrCatalogUnavailable):
	case err != nil:
		return err
	default:
		out.Lineup = lineup
	}
	return c.JSON(out)
}

// transition runs a staff transition (start, end, cancel).
func (a *API) transition(do func(ctx context.Context, staffID, showID string) (*live.Show, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		s, err := do(c.UserContext(), currentStaff(c).ID, c.Params("id"))
		if err != nil {
			return showProblem(err)
		}
		return c.JSON(consoleShowOut(s))
	}
}

func (a *API) startShow(c *fiber.Ctx) error  { return a.transition(a.shows.StartShow)(c) }
func (a *API) endShow(c *fiber.Ctx) error    { return a.transition(a.shows.EndShow)(c) }
func (a *API) cancelShow(c *fiber.Ctx) error { return a.transition(a.shows.CancelShow)(c) }

// tokenRequest is the body of POST /shows/:id/token.
type tokenRequest struct {
	ID          string `path:"id" json:"-"`
	PublishData bool   `json:"publish_data" description:"Assistants only: allow sending data messages from the room."`
}

// tokenBody is a host's or assistant's LiveKit token.
type tokenBody struct {
	LiveKitURL string    `json:"livekit_url"`
	Token      string    `json:"token"`
	Room       string    `json:"room"`
	Identity   string    `json:"identity"`
	Role       string    `json:"role" enum:"host,assistant" description:"host: camera, microphone and screen; assistant: no media, data only when asked."`
	ExpiresAt  time.Time `json:"expires_at"`
}

// showToken gives the show's host or an assistant a LiveKit token.
func (a *API) showToken(c *fiber.Ctx) error {
	var req tokenRequest
	if len(c.Body()) > 0 {
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return edge.BadRequest("invalid_json", "the body must be {\"publish_data\": bool} or empty")
		}
	}
	me := currentStaff(c)
	tok, err := a.shows.StaffToken(c.UserContext(), c.Params("id"), live.StaffTokenRequest{
		StaffID: me.ID, Name: me.Name, Privileged: privileged(me), PublishData: req.PublishData,
	})
	if err != nil {
		return showProblem(err)
	}
	return c.JSON(tokenBody{LiveKitURL: tok.LiveKitURL, Token: tok.Token.Token, Room: tok.Room, Identity: tok.Identity, Role: string(tok.Role), ExpiresAt: tok.ExpiresAt})
}

// ingressRequest is the body of POST /shows/:id/ingress.
type ingressRequest struct {
	ID   string `path:"id" json:"-"`
	Kind string `json:"kind" required:"true" enum:"rtmp,whip" description:"rtmp for OBS and encoders, whip for a phone or browser."`
}

// createIngress answers the show's RTMP or WHIP ingress: the URL and the
// stream key to push to.
func (a *API) createIngress(c *fiber.Ctx) error {
	var req ingressRequest
	if err := json.Unmarshal(c.Body(), &req); err != nil {
		return edge.BadRequest("invalid_json", "the body must be {\"kind\": \"rtmp\"|\"whip\"}")
	}
	me := currentStaff(c)
	in, err := a.shows.CreateIngress(c.UserContext(), me.ID, privileged(me), c.Params("id"), live.IngressKind(req.Kind))
	if err != nil {
		return showProblem(err)
	}
	return c.Status(http.StatusCreated).JSON(in)
}

// privileged staff may act on any show.
func privileged(s Staff) bool { return s.Role == RoleOwner || s.Role == RoleAdmin }

// showProblem gives the live domain's typed errors their detailed answer;
// sentinels go to the error table.
func showProblem(err error) error {
	var te *live.TransitionError
	var ve *live.ValidationError
	switch {
	case errors.As(err, &te):
		return &edge.Problem{Status: http.StatusConflict, Code: "show_transition_not_allowed", Message: te.Error()}
	case errors.As(err, &ve):
		return edge.BadRequest("invalid_"+ve.Field, ve.Error())
	}
	return err
}
