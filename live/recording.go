package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// roomSpec is how a show's room is provisioned.
func (s *Service) roomSpec(show *Show) RoomSpec {
	meta, _ := json.Marshal(map[string]string{"show_id": show.ID})
	return RoomSpec{Name: show.RoomName, Metadata: string(meta), EmptyTimeout: s.cfg.EmptyTimeout, MaxParticipants: s.cfg.MaxParticipants}
}

// recordingPath is the MP4's path in Egress's storage.
func recordingPath(show *Show) string {
	return fmt.Sprintf("shows/%s/recording-%d.mp4", show.ID, show.LiveAt.Unix())
}

// hlsPrefix is where a show's HLS segments and playlists go.
func hlsPrefix(show *Show) string { return "shows/" + show.ID + "/hls/" }

// mediaURL is the public URL of a path in Egress's storage, or "" when no
// MediaBaseURL is configured.
func (s *Service) mediaURL(path string) string {
	if s.cfg.MediaBaseURL == "" || path == "" {
		return ""
	}
	return strings.TrimSuffix(s.cfg.MediaBaseURL, "/") + "/" + strings.TrimPrefix(path, "/")
}

// StartRecording asks Egress to record a live show (and, in HLS mode, to
// write a live playlist). Without an Egress service the show stays live
// and its recording status says unavailable. It does nothing for a show
// already recording or no longer live.
func (s *Service) StartRecording(ctx context.Context, showID string) error {
	show, err := getShow(ctx, s.db, showID)
	if err != nil {
		return err
	}
	if show.Status != StatusLive || show.RecordingStatus != RecordingStarting || show.EgressID != "" {
		return nil
	}
	req := RecordingRequest{Room: show.RoomName, Filepath: recordingPath(show)}
	if show.Mode.HLS() {
		req.HLSPrefix = hlsPrefix(show)
	}
	var egressID string
	var startErr error
	if s.cfg.Recorder == nil {
		startErr = ErrEgressUnavailable
	} else {
		egressID, startErr = s.cfg.Recorder.StartRecording(ctx, req)
	}
	status, note, kind := RecordingActive, "", EventRecordingStarted
	switch {
	case startErr == nil:
	case errors.Is(startErr, ErrEgressUnavailable):
		status, note, kind = RecordingUnavailable, "recording unavailable: no LiveKit Egress service is connected", EventRecordingUnavailable
	case errors.Is(startErr, ErrRoomNotFound):
		// The host has not entered yet and the room was closed; egress
		// starts again when the room does.
		return startErr
	default:
		// LiveKit unreachable: the job retries.
		return startErr
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		show, err := lockShow(ctx, tx, showID)
		if err != nil {
			return err
		}
		if show.Status != StatusLive || show.RecordingStatus != RecordingStarting {
			// The show ended meanwhile; the close-room job stops an egress
			// that is recorded below.
			if egressID != "" && show.EgressID == "" {
				show.EgressID = egressID
				_, err := tx.NewUpdate().Model(show).Column("egress_id").WherePK().Exec(ctx)
				return err
			}
			return nil
		}
		show.RecordingStatus, show.RecordingNote, show.EgressID, show.UpdatedAt = status, note, egressID, s.now()
		if egressID != "" && show.Mode.HLS() {
			show.HLSURL = s.mediaURL(hlsPrefix(show) + "live.m3u8")
		}
		if _, err := tx.NewUpdate().Model(show).Column("recording_status", "recording_note", "egress_id", "hls_url", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("record recording status: %w", err)
		}
		return addEvent(ctx, tx, show.ID, kind, ActorSystem, s.now(), map[string]any{"egress_id": egressID, "note": note})
	})
}
