package live

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the live domain.
var (
	// ErrShowNotFound is returned for a show that does not exist.
	ErrShowNotFound = errors.New("show not found")
	// ErrTransition is wrapped by TransitionError: the show cannot move to
	// the asked state from the one it is in.
	ErrTransition = errors.New("the show cannot make that transition from its current state")
	// ErrInvalid is wrapped by ValidationError: the input breaks a rule.
	ErrInvalid = errors.New("invalid input")
	// ErrShowNotEditable is returned for an edit of a show that is no
	// longer scheduled.
	ErrShowNotEditable = errors.New("only a scheduled show can be edited")
	// ErrShowNotLive is returned for an action that needs a live show.
	ErrShowNotLive = errors.New("the show is not live")
	// ErrNotShowStaff is returned when a staff member asks for a token of a
	// show they neither host nor assist.
	ErrNotShowStaff = errors.New("you are neither the host nor an assistant of this show")
	// ErrViewerRemoved is returned when a removed viewer tries to join or
	// take part.
	ErrViewerRemoved = errors.New("you were removed from this show")
	// ErrViewerMuted is returned when a muted viewer tries to comment.
	ErrViewerMuted = errors.New("you were muted in this show")
	// ErrChatBusy is returned when a room's backlog (comments waiting for
	// moderation or broadcast) is full; the comment was not accepted and
	// may be sent again shortly.
	ErrChatBusy = errors.New("the chat is busy; try again in a moment")
	// ErrChatUnavailable is returned when a comment's ingest step failed
	// in Redis; the comment was not accepted (unless Redis took it and its
	// answer was lost) and may be sent again.
	ErrChatUnavailable = errors.New("the chat is unavailable; try again in a moment")
	// ErrCommentNotFound is returned for a comment that does not exist in
	// the show.
	ErrCommentNotFound = errors.New("comment not found")
	// ErrReplayNotReady is returned for the replay of a show that has none
	// (yet).
	ErrReplayNotReady = errors.New("the show has no replay yet")
	// ErrNotReservable is returned for a reservation of a show that is not
	// scheduled.
	ErrNotReservable = errors.New("only a scheduled show can be reserved")
	// ErrUnknownAction is returned for a control action type Siyu does not
	// know.
	ErrUnknownAction = errors.New("unknown control action")
	// ErrProductNotInLineup is returned when pinning a product the show's
	// lineup does not sell.
	ErrProductNotInLineup = errors.New("the product is not in the show's lineup")
	// ErrFlashSaleNotFound is returned for a flash sale that does not exist
	// or belongs to another show.
	ErrFlashSaleNotFound = errors.New("flash sale not found for this show")
	// ErrCouponDropNotFound is returned for a coupon drop that does not
	// exist or belongs to another show.
	ErrCouponDropNotFound = errors.New("coupon drop not found for this show")
	// ErrCouponsUnavailable is returned when a coupon drop is announced and
	// no coupon service is connected.
	ErrCouponsUnavailable = errors.New("coupons are not connected")
	// ErrCatalogUnavailable is returned when an action needs the catalog
	// (lineup, flash sales) and none is connected.
	ErrCatalogUnavailable = errors.New("the catalog is not connected")
	// ErrLiveKitUnavailable is returned when LiveKit cannot be reached or
	// refuses a request.
	ErrLiveKitUnavailable = errors.New("LiveKit is unavailable")
	// ErrRoomNotFound is returned by the LiveKit client for a room that
	// does not exist (any more).
	ErrRoomNotFound = errors.New("the LiveKit room does not exist")
	// ErrIngressUnavailable is returned when the LiveKit server has no
	// Ingress service connected.
	ErrIngressUnavailable = errors.New("LiveKit Ingress is not available on this server")
	// ErrEgressUnavailable is returned when the LiveKit server has no
	// Egress service connected.
	ErrEgressUnavailable = errors.New("LiveKit Egress is not available on this server")
	// ErrWebhookRejected is returned for a webhook whose signature or body
	// does not verify.
	ErrWebhookRejected = errors.New("webhook rejected")
)

// TransitionError says which transition of which show was refused.
type TransitionError struct {
	ShowID string
	From   Status
	To     Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("show %s is %s and cannot become %s", e.ShowID, e.From, e.To)
}

// Unwrap makes errors.Is(err, ErrTransition) true.
func (e *TransitionError) Unwrap() error { return ErrTransition }

// ValidationError names the field that is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// RateLimitError is returned when a member comments again too soon.
type RateLimitError struct {
	Wait time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("you are commenting too fast; wait %s", e.Wait.Round(100*time.Millisecond))
}

// RetryAfter tells the HTTP layer when the member may comment again.
func (e *RateLimitError) RetryAfter() time.Duration { return e.Wait }

// ErrCommentRateLimited is wrapped by RateLimitError.
var ErrCommentRateLimited = errors.New("commenting too fast")

// Unwrap makes errors.Is(err, ErrCommentRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrCommentRateLimited }
