package live

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// Grant describes what a token lets its holder do in a room. Every field is
// set explicitly on the token: LiveKit grants everything when nothing is
// set.
type Grant struct {
	Identity       string
	Name           string
	Room           string
	CanPublish     bool
	Sources        []livekit.TrackSource
	CanPublishData bool
	TTL            time.Duration
	// RoomConfig provisions the room when this holder is the first to
	// join (hosts, whose arrival takes a show live).
	RoomConfig *livekit.RoomConfiguration
}

// Token is a signed LiveKit access token.
type Token struct {
	Token     string
	Room      string
	Identity  string
	ExpiresAt time.Time
}

// sign makes the token for g with the SDK. The SDK stamps the JWT with the
// wall clock, so ExpiresAt is computed from it too.
func (s *Service) sign(g Grant) (Token, error) {
	at := auth.NewAccessToken(s.cfg.APIKey, s.cfg.APISecret).
		SetIdentity(g.Identity).
		SetName(g.Name).
		SetKind(livekit.ParticipantInfo_STANDARD).
		SetValidFor(g.TTL).
		SetVideoGrant(videoGrant(g))
	if g.RoomConfig != nil {
		at.SetRoomConfig(g.RoomConfig)
	}
	expires := time.Now().Add(g.TTL).UTC().Truncate(time.Second)
	jwt, err := at.ToJWT()
	if err != nil {
		return Token{}, fmt.Errorf("sign LiveKit token: %w", err)
	}
	return Token{Token: jwt, Room: g.Room, Identity: g.Identity, ExpiresAt: expires}, nil
}

// videoGrant is g's grant with every field set explicitly.
func videoGrant(g Grant) *auth.VideoGrant {
	v := &auth.VideoGrant{
		RoomJoin:     true,
		Room:         g.Room,
		RoomCreate:   false,
		RoomList:     false,
		RoomRecord:   false,
		RoomAdmin:    false,
		IngressAdmin: false,
		Hidden:       false,
		Recorder:     false,
		Agent:        false,
	}
	v.SetCanPublish(g.CanPublish)
	v.SetCanPublishData(g.CanPublishData)
	v.SetCanSubscribe(true)
	v.SetCanUpdateOwnMetadata(false)
	v.SetCanSubscribeMetrics(false)
	v.SetCanManageAgentSession(false)
	// An empty list would mean "any source" to LiveKit; it only matters
	// when publishing is allowed, and then the list is never empty.
	v.SetCanPublishSources(g.Sources)
	return v
}

// viewerGrant is a viewer's: subscribe only, no publishing of tracks or
// data, one room, identity = member id.
func viewerGrant(room, memberID string, ttl time.Duration) Grant {
	return Grant{Identity: memberID, Room: room, TTL: ttl, Sources: []livekit.TrackSource{}}
}

// StaffRole says what a staff token allows.
type StaffRole string

// The staff roles in a room.
const (
	RoleHost      StaffRole = "host"      // publishes camera, microphone and screen
	RoleAssistant StaffRole = "assistant" // subscribes; publishes data only when asked
)

// StaffIdentity is the participant identity of a staff member.
func StaffIdentity(staffID string) string { return "staff:" + staffID }

// StaffToken is a host's or assistant's token with the LiveKit URL.
type StaffToken struct {
	Token
	Role       StaffRole
	LiveKitURL string
}

// StaffTokenRequest asks for a token to a show's room.
type StaffTokenRequest struct {
	StaffID string
	Name    string
	// Privileged staff (owners, admins) get an assistant token to any
	// show.
	Privileged bool
	// PublishData lets an assistant send data messages.
	PublishData bool
}

// StaffToken returns the show's host a host token (camera, microphone and
// screen) and its assistants an assistant token (no media; data only when
// asked). A host token also carries the room's configuration, so a host
// who joins first opens the room as Siyu would have provisioned it, and
// the room's start takes the show live.
func (s *Service) StaffToken(ctx context.Context, showID string, req StaffTokenRequest) (StaffToken, error) {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return StaffToken{}, err
	}
	if !slices.Contains([]Status{StatusScheduled, StatusLive}, show.Status) {
		return StaffToken{}, &TransitionError{ShowID: show.ID, From: show.Status, To: StatusLive}
	}
	g := Grant{Identity: StaffIdentity(req.StaffID), Name: req.Name, Room: show.RoomName, TTL: s.cfg.StaffTokenTTL, Sources: []livekit.TrackSource{}}
	role := RoleAssistant
	switch {
	case show.HostStaffID == req.StaffID:
		role = RoleHost
		g.CanPublish = true
		g.Sources = []livekit.TrackSource{livekit.TrackSource_CAMERA, livekit.TrackSource_MICROPHONE, livekit.TrackSource_SCREEN_SHARE, livekit.TrackSource_SCREEN_SHARE_AUDIO}
		spec := s.roomSpec(show)
		g.RoomConfig = &livekit.RoomConfiguration{Name: spec.Name, Metadata: spec.Metadata,
			EmptyTimeout: uint32(spec.EmptyTimeout / time.Second), MaxParticipants: uint32(spec.MaxParticipants)}
	case show.IsAssistant(req.StaffID) || req.Privileged:
		g.CanPublishData = req.PublishData
	default:
		return StaffToken{}, ErrNotShowStaff
	}
	tok, err := s.sign(g)
	if err != nil {
		return StaffToken{}, err
	}
	return StaffToken{Token: tok, Role: role, LiveKitURL: s.cfg.LiveKitURL}, nil
}
