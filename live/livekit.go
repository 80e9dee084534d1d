package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/twitchtv/twirp"
)

// LiveKit is the small client Siyu uses to talk to its LiveKit server:
// RoomService, Egress and Ingress through server-sdk-go, with LiveKit's
// answers turned into this package's errors. It implements Rooms, Recorder
// and Ingresses.
type LiveKit struct {
	rooms   *lksdk.RoomServiceClient
	egress  *lksdk.EgressClient
	ingress *lksdk.IngressClient
}

// NewLiveKit returns a client of the LiveKit server at url (http(s):// or
// ws(s)://) with the given API key pair.
func NewLiveKit(url, apiKey, apiSecret string) *LiveKit {
	url = HTTPURL(url)
	return &LiveKit{
		rooms:   lksdk.NewRoomServiceClient(url, apiKey, apiSecret),
		egress:  lksdk.NewEgressClient(url, apiKey, apiSecret),
		ingress: lksdk.NewIngressClient(url, apiKey, apiSecret),
	}
}

// HTTPURL turns a ws(s):// LiveKit URL into the http(s):// URL its API uses.
func HTTPURL(u string) string {
	switch {
	case strings.HasPrefix(u, "ws://"):
		return "http://" + strings.TrimPrefix(u, "ws://")
	case strings.HasPrefix(u, "wss://"):
		return "https://" + strings.TrimPrefix(u, "wss://")
	}
	return u
}

// RoomSpec is how a show's room is provisioned.
type RoomSpec struct {
	Name string
	// Metadata is JSON naming the show ({"show_id": …}).
	Metadata string
	// EmptyTimeout closes the room when nobody joined it for this long.
	EmptyTimeout time.Duration
	// MaxParticipants caps the room (viewers, host and assistants).
	MaxParticipants int
}

// Participant is someone in a room, as ListParticipants or a webhook
// tells.
type Participant struct {
	Identity string
	SID      string
	// Kind is LiveKit's participant kind: STANDARD for people, INGRESS,
	// EGRESS, SIP or AGENT otherwise.
	Kind     livekit.ParticipantInfo_Kind
	JoinedAt time.Time
}

func participantOf(p *livekit.ParticipantInfo) Participant {
	joined := time.UnixMilli(p.JoinedAtMs)
	if p.JoinedAtMs == 0 {
		joined = time.Unix(p.JoinedAt, 0)
	}
	return Participant{Identity: p.Identity, SID: p.Sid, Kind: p.Kind, JoinedAt: joined.UTC()}
}

// CreateRoom implements Rooms.
func (lk *LiveKit) CreateRoom(ctx context.Context, spec RoomSpec) error {
	_, err := lk.rooms.CreateRoom(ctx, &livekit.CreateRoomRequest{
		Name:            spec.Name,
		Metadata:        spec.Metadata,
		EmptyTimeout:    uint32(spec.EmptyTimeout / time.Second),
		MaxParticipants: uint32(spec.MaxParticipants),
	})
	return lkError("create room "+spec.Name, err)
}

// DeleteRoom implements Rooms.
func (lk *LiveKit) DeleteRoom(ctx context.Context, room string) error {
	_, err := lk.rooms.DeleteRoom(ctx, &livekit.DeleteRoomRequest{Room: room})
	if err = lkError("delete room "+room, err); errors.Is(err, ErrRoomNotFound) {
		return nil
	}
	return err
}

// Participants implements Rooms. LiveKit lists no participants for a room
// that does not exist, so the room is looked up first.
func (lk *LiveKit) Participants(ctx context.Context, room string) ([]Participant, error) {
	rooms, err := lk.rooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{room}})
	if err != nil {
		return nil, lkError("look up room "+room, err)
	}
	if len(rooms.Rooms) == 0 {
		return nil, fmt.Errorf("list participants of %s: %w", room, ErrRoomNotFound)
	}
	res, err := lk.rooms.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, lkError("list participants of "+room, err)
	}
	out := make([]Participant, 0, len(res.Participants))
	for _, p := range res.Participants {
		out = append(out, participantOf(p))
	}
	return out, nil
}

// RemoveParticipant implements Rooms.
func (lk *LiveKit) RemoveParticipant(ctx context.Context, room, identity string) error {
	_, err := lk.rooms.RemoveParticipant(ctx, &livekit.RoomParticipantIdentity{Room: room, Identity: identity})
	if err = lkError("remove "+identity+" from "+room, err); errors.Is(err, ErrRoomNotFound) {
		// Not in the room (or no room): there is nobody to remove.
		return nil
	}
	return err
}

// SendData implements Rooms.
func (lk *LiveKit) SendData(ctx context.Context, room, topic string, data []byte) error {
	_, err := lk.rooms.SendData(ctx, &livekit.SendDataRequest{
		Room: room, Data: data, Kind: livekit.DataPacket_RELIABLE, Topic: &topic,
	})
	return lkError("send data to "+room, err)
}

// RecordingRequest is what to record of a show: the whole room to one MP4
// file, and in HLS mode also segments with a live playlist.
type RecordingRequest struct {
	Room string
	// Filepath is the MP4's path in Egress's storage.
	Filepath string
	// HLSPrefix, when set, also writes HLS segments under it, with
	// playlists HLSPrefix+"index.m3u8" and HLSPrefix+"live.m3u8".
	HLSPrefix string
}

// StartRecording implements Recorder with a room-composite egress. A
// server without Egress is found out first with ListEgress, which answers
// at once, whereas StartRoomCompositeEgress waits (20s) for an Egress
// worker that never answers.
func (lk *LiveKit) StartRecording(ctx context.Context, req RecordingRequest) (string, error) {
	if _, err := lk.egress.ListEgress(ctx, &livekit.ListEgressRequest{RoomName: req.Room, Active: true}); err != nil {
		return "", egressError("probe egress for "+req.Room, err)
	}
	in := &livekit.RoomCompositeEgressRequest{
		RoomName: req.Room,
		Layout:   "speaker",
		FileOutputs: []*livekit.EncodedFileOutput{{
			FileType: livekit.EncodedFileType_MP4,
			Filepath: req.Filepath,
		}},
	}
	if req.HLSPrefix != "" {
		in.SegmentOutputs = []*livekit.SegmentedFileOutput{{
			Protocol:         livekit.SegmentedFileProtocol_HLS_PROTOCOL,
			FilenamePrefix:   req.HLSPrefix,
			PlaylistName:     req.HLSPrefix + "index.m3u8",
			LivePlaylistName: req.HLSPrefix + "live.m3u8",
			SegmentDuration:  4,
		}}
	}
	info, err := lk.egress.StartRoomCompositeEgress(ctx, in)
	if err != nil {
		return "", egressError("start recording of "+req.Room, err)
	}
	return info.EgressId, nil
}

// StopRecording implements Recorder; an egress that already ended is not
// an error.
func (lk *LiveKit) StopRecording(ctx context.Context, egressID string) error {
	_, err := lk.egress.StopEgress(ctx, &livekit.StopEgressRequest{EgressId: egressID})
	if err == nil {
		return nil
	}
	var te twirp.Error
	if errors.As(err, &te) && (te.Code() == twirp.NotFound || te.Code() == twirp.FailedPrecondition) {
		return nil
	}
	return egressError("stop recording "+egressID, err)
}

// IngressKind is how a host pushes a stream into the room.
type IngressKind string

// The ingress kinds.
const (
	IngressRTMP IngressKind = "rtmp" // OBS and most encoders
	IngressWHIP IngressKind = "whip" // WebRTC-HTTP ingestion, from a phone or browser
)

func (k IngressKind) input() (livekit.IngressInput, bool) {
	switch k {
	case IngressRTMP:
		return livekit.IngressInput_RTMP_INPUT, true
	case IngressWHIP:
		return livekit.IngressInput_WHIP_INPUT, true
	}
	return 0, false
}

// IngressRequest asks for a show's ingress.
type IngressRequest struct {
	Room     string
	Kind     IngressKind
	Identity string
	Name     string
}

// Ingress is where and with which key an encoder pushes the show.
type Ingress struct {
	ID        string      `json:"ingress_id"`
	Kind      IngressKind `json:"kind"`
	URL       string      `json:"url"`
	StreamKey string      `json:"stream_key"`
}

// EnsureIngress implements Ingresses: the room's ingress of that kind is
// reused, so asking twice gives the same URL and key.
func (lk *LiveKit) EnsureIngress(ctx context.Context, req IngressRequest) (Ingress, error) {
	input, ok := req.Kind.input()
	if !ok {
		return Ingress{}, invalid("kind", "must be rtmp or whip")
	}
	list, err := lk.ingress.ListIngress(ctx, &livekit.ListIngressRequest{RoomName: req.Room})
	if err != nil {
		return Ingress{}, ingressError("list ingress of "+req.Room, err)
	}
	for _, in := range list.Items {
		if in.InputType == input && in.ParticipantIdentity == req.Identity {
			return Ingress{ID: in.IngressId, Kind: req.Kind, URL: in.Url, StreamKey: in.StreamKey}, nil
		}
	}
	in, err := lk.ingress.CreateIngress(ctx, &livekit.CreateIngressRequest{
		InputType:           input,
		Name:                req.Name,
		RoomName:            req.Room,
		ParticipantIdentity: req.Identity,
		ParticipantName:     req.Name,
	})
	if err != nil {
		return Ingress{}, ingressError("create ingress for "+req.Room, err)
	}
	return Ingress{ID: in.IngressId, Kind: req.Kind, URL: in.Url, StreamKey: in.StreamKey}, nil
}

// lkError maps a RoomService error: a missing room or participant to
// ErrRoomNotFound, anything else to ErrLiveKitUnavailable.
func lkError(what string, err error) error {
	if err == nil {
		return nil
	}
	var te twirp.Error
	if errors.As(err, &te) && te.Code() == twirp.NotFound {
		return fmt.Errorf("%s: %w: %s", what, ErrRoomNotFound, te.Msg())
	}
	return fmt.Errorf("%s: %w: %v", what, ErrLiveKitUnavailable, err)
}

// notConnected reports LiveKit's answer when the Egress or Ingress service
// is not connected to the server ("egress not connected (redis
// required)"), which is an internal error told only by its message.
func notConnected(err error) bool {
	var te twirp.Error
	return errors.As(err, &te) && strings.Contains(te.Msg(), "not connected")
}

func egressError(what string, err error) error {
	var te twirp.Error
	if notConnected(err) || errors.As(err, &te) && te.Code() == twirp.Unavailable && strings.Contains(te.Msg(), "no response from servers") {
		// No Egress worker took the request: none is running.
		return fmt.Errorf("%s: %w", what, ErrEgressUnavailable)
	}
	return lkError(what, err)
}

func ingressError(what string, err error) error {
	if notConnected(err) {
		return fmt.Errorf("%s: %w", what, ErrIngressUnavailable)
	}
	return lkError(what, err)
}
