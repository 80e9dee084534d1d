package live

import (
	"context"
	"slices"
)

// IngressIdentity is the participant identity a show's ingress publishes
// as.
func IngressIdentity(showID string) string { return "ingress:" + showID }

// CreateIngress returns the show's RTMP or WHIP ingress (URL and stream
// key for OBS or the host's phone), creating it when there is none. Only
// the show's host and assistants may ask; a LiveKit without Ingress
// answers ErrIngressUnavailable.
func (s *Service) CreateIngress(ctx context.Context, staffID string, privileged bool, showID string, kind IngressKind) (Ingress, error) {
	if _, ok := kind.input(); !ok {
		return Ingress{}, invalid("kind", "must be rtmp or whip")
	}
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return Ingress{}, err
	}
	if show.HostStaffID != staffID && !show.IsAssistant(staffID) && !privileged {
		return Ingress{}, ErrNotShowStaff
	}
	if !slices.Contains([]Status{StatusScheduled, StatusLive}, show.Status) {
		return Ingress{}, &TransitionError{ShowID: show.ID, From: show.Status, To: StatusLive}
	}
	if s.cfg.Ingresses == nil {
		return Ingress{}, ErrIngressUnavailable
	}
	in, err := s.cfg.Ingresses.EnsureIngress(ctx, IngressRequest{
		Room: show.RoomName, Kind: kind, Identity: IngressIdentity(show.ID), Name: show.Title,
	})
	if err != nil {
		return Ingress{}, err
	}
	// The stream key is a secret: the audit log names the ingress only.
	if err := s.audit(ctx, s.db, showAudit(staffID, "show.ingress", show.ID, map[string]any{"kind": kind, "ingress_id": in.ID})); err != nil {
		return Ingress{}, err
	}
	return in, nil
}
