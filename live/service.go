package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/uptrace/bun"
)

// Rooms is what the service needs of LiveKit's RoomService. LiveKit
// implements it.
type Rooms interface {
	// CreateRoom creates the room, or leaves an existing one as it is.
	CreateRoom(ctx context.Context, spec RoomSpec) error
	// DeleteRoom closes the room, disconnecting everyone; a room that does
	// not exist is not an error.
	DeleteRoom(ctx context.Context, room string) error
	// Participants lists who is in the room now, or ErrRoomNotFound.
	Participants(ctx context.Context, room string) ([]Participant, error)
	// RemoveParticipant disconnects identity from the room; one who is not
	// there is not an error.
	RemoveParticipant(ctx context.Context, room, identity string) error
	// SendData sends a reliable data message to everyone in the room.
	SendData(ctx context.Context, room, topic string, data []byte) error
}

// Recorder is what the service needs of LiveKit's Egress. LiveKit
// implements it; without an Egress service it answers ErrEgressUnavailable.
type Recorder interface {
	StartRecording(ctx context.Context, req RecordingRequest) (egressID string, err error)
	StopRecording(ctx context.Context, egressID string) error
}

// Ingresses is what the service needs of LiveKit's Ingress. LiveKit
// implements it; without an Ingress service it answers
// ErrIngressUnavailable.
type Ingresses interface {
	// EnsureIngress returns the room's ingress of the asked kind, creating
	// it when there is none.
	EnsureIngress(ctx context.Context, req IngressRequest) (Ingress, error)
}

// Member is what chat and notices need to know of a shopper.
type Member struct {
	OpenID   string
	Nickname string
}

// Members looks shoppers up (the community area implements it).
type Members interface {
	Member(ctx context.Context, memberID string) (Member, error)
}

// Consents records the subscribe-message consents a shopper granted, in
// the caller's transaction (the community area's consent ledger).
type Consents interface {
	Grant(ctx context.Context, db bun.IDB, memberID string, templateIDs []string) error
}

// Notice is one subscribe message to a member. Key makes it idempotent: a
// notice with a key already sent is not sent again.
type Notice struct {
	Key        string
	MemberID   string
	OpenID     string
	TemplateID string
	Page       string
	Data       map[string]string
}

// NoticeOutcome says what became of a notice.
type NoticeOutcome string

// The outcomes of a notice.
const (
	NoticeSent        NoticeOutcome = "sent"
	NoticeAlreadySent NoticeOutcome = "already_sent"
	NoticeNoConsent   NoticeOutcome = "no_consent"
	NoticeRefused     NoticeOutcome = "refused"  // WeChat answered 43101: the consent was used up
	NoticeRejected    NoticeOutcome = "rejected" // WeChat refused the message itself
)

// Notifier sends a subscribe message, spending one of the member's
// consents for its template (the community area's consent ledger). A
// transient failure is an error; every final outcome is an outcome.
type Notifier interface {
	Notify(ctx context.Context, n Notice) (NoticeOutcome, error)
}

// Config configures a Service. Zero durations and sizes take the defaults
// documented on each field.
type Config struct {
	DB    *bun.DB
	Redis redis.UniversalClient

	Rooms     Rooms
	Recorder  Recorder
	Ingresses Ingresses
	// LiveKitURL is the ws(s):// URL clients connect to.
	LiveKitURL string
	// APIKey and APISecret sign participant tokens and verify webhooks.
	APIKey    string
	APISecret string

	// Lineups and FlashSales are the catalog; nil leaves shows without a
	// lineup and refuses pins and flash-sale countdowns.
	Lineups    Lineups
	FlashSales FlashSales
	// CouponDrops are the community's coupon drops; nil refuses the
	// drop_coupon action with ErrCouponsUnavailable.
	CouponDrops CouponDrops
	// Members gives a commenter's openid and nickname; nil means comments
	// cannot be checked and are hidden.
	Members Members
	// Moderator is WeChat's content check; nil hides every comment.
	Moderator Moderator
	Consents  Consents
	Notifier  Notifier
	// Audit records staff actions; nil records none.
	Audit Audit

	Now    func() time.Time
	Logger *slog.Logger

	// ViewerTokenTTL is how long a viewer token lets one join (10 minutes;
	// at most 15).
	ViewerTokenTTL time.Duration
	// StaffTokenTTL is how long a host's or assistant's token lets them
	// join (2 hours).
	StaffTokenTTL time.Duration
	// EmptyTimeout closes a room nobody joined (10 minutes).
	EmptyTimeout time.Duration
	// MaxParticipants caps a room (2000).
	MaxParticipants int
	// CommentInterval is the least time between two comments of one member
	// in one show (2s).
	CommentInterval time.Duration
	// CommentMaxRunes caps a comment's length (140).
	CommentMaxRunes int
	// ChatBacklog is how many comments may wait for moderation and
	// broadcast in one room before new ones are refused (5000).
	ChatBacklog int
	// ModerationBatch is about how many comments a moderator takes at a
	// time, shared by the rooms (256).
	ModerationBatch int
	// ModerationParallel is how many content checks a moderator runs at
	// once (4). WeChat allows 4,000 checks a minute per mini-program, which
	// four calls in flight keep up with at 60ms a call; more would only
	// take CPU from the API in the same process.
	ModerationParallel int
	// ModerationClaimAfter is how long comments a moderator took may stay
	// unfinished before another moderator takes them over, as when the
	// first one died (30s).
	ModerationClaimAfter time.Duration
	// Tick is the broadcast period: a room gets at most one chat send per
	// tick (250ms, so 4 a second).
	Tick time.Duration
	// LikeFlush is how often a replica adds the likes it took to Redis
	// (50ms, well under Tick): a crash loses at most this much of taps.
	LikeFlush time.Duration
	// BatchBytes caps the comments of one chat send (14 KiB: a reliable
	// data message holds 15 KiB with its envelope).
	BatchBytes int
	// RecentComments is how many comments a join answers with (20: what
	// a phone shows over the video; older ones are a history call away).
	RecentComments int
	// ReminderLead is how long before the start reminders go out (10m).
	ReminderLead time.Duration
	// ReplayWatchBelow: viewers who watched less than this get the replay
	// notice (5m).
	ReplayWatchBelow time.Duration
	// MediaBaseURL is where Egress's files are served from (the bucket or
	// CDN); recordings and HLS playlists are published under it.
	MediaBaseURL string
	// ReminderTemplate and ReplayTemplate are the subscribe messages of
	// the start reminder and the replay notice; an empty ID turns that
	// notice off.
	ReminderTemplate NoticeTemplate
	ReplayTemplate   NoticeTemplate
	// NoticePage is the mini-program page notices open ("pages/live/index").
	NoticePage string
}

// Service runs shows, chat and their LiveKit rooms.
type Service struct {
	cfg   Config
	db    *bun.DB
	redis redis.UniversalClient
	log   *slog.Logger
	now   func() time.Time

	blockMu    sync.Mutex
	blockWords []string
	blockAt    time.Time

	hotc  hotCache
	likes likeBook
	// viewers signs viewer tokens.
	viewers *viewerSigner

	comments *commentQueue
	// checksPausedUntil (Unix ms) is when content checks may run again
	// after WeChat refused one for its quota.
	checksPausedUntil atomic.Int64
}

// New returns a Service for cfg.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("live: Config.DB is required")
	case cfg.Redis == nil:
		return nil, errors.New("live: Config.Redis is required")
	case cfg.Rooms == nil:
		return nil, errors.New("live: Config.Rooms is required")
	case cfg.APIKey == "" || cfg.APISecret == "":
		return nil, errors.New("live: Config.APIKey and APISecret are required")
	case cfg.ViewerTokenTTL > MaxViewerTokenTTL:
		return nil, fmt.Errorf("live: ViewerTokenTTL %s is longer than %s", cfg.ViewerTokenTTL, MaxViewerTokenTTL)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&cfg.ViewerTokenTTL, 10*time.Minute)
	def(&cfg.StaffTokenTTL, 2*time.Hour)
	def(&cfg.EmptyTimeout, 10*time.Minute)
	def(&cfg.CommentInterval, 2*time.Second)
	def(&cfg.Tick, 250*time.Millisecond)
	def(&cfg.LikeFlush, 50*time.Millisecond)
	def(&cfg.ReminderLead, 10*time.Minute)
	def(&cfg.ReplayWatchBelow, 5*time.Minute)
	defInt(&cfg.MaxParticipants, 2000)
	defInt(&cfg.CommentMaxRunes, 140)
	defInt(&cfg.ChatBacklog, 5000)
	defInt(&cfg.ModerationBatch, 256)
	defInt(&cfg.ModerationParallel, 4)
	def(&cfg.ModerationClaimAfter, 30*time.Second)
	defInt(&cfg.BatchBytes, 14<<10)
	defInt(&cfg.RecentComments, 20)
	if cfg.NoticePage == "" {
		cfg.NoticePage = "pages/live/index"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, db: cfg.DB, redis: cfg.Redis, log: cfg.Logger, now: func() time.Time { return cfg.Now().UTC() },
		comments: newCommentQueue(cfg.Redis, cfg.ChatBacklog, cfg.CommentInterval),
		viewers:  newViewerSigner(cfg.APIKey, cfg.APISecret, cfg.ViewerTokenTTL)}, nil
}

// MaxViewerTokenTTL is the longest a viewer token may be valid.
const MaxViewerTokenTTL = 15 * time.Minute

func newID() string { return uuid.Must(uuid.NewV7()).String() }
