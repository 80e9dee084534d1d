package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

// received is what a participant got on the data channel.
type received struct {
	mu      sync.Mutex
	packets []packet
}

type packet struct {
	topic, sender string
	data          []byte
}

func (r *received) add(p packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets = append(r.packets, p)
}

func (r *received) on(topic string) []packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []packet
	for _, p := range r.packets {
		if p.topic == topic {
			out = append(out, p)
		}
	}
	return out
}

// chatBatches decodes the chat batches received.
func (r *received) chatBatches(t *testing.T) []live.ChatBatch {
	t.Helper()
	var out []live.ChatBatch
	for _, p := range r.on(live.TopicChat) {
		if p.sender != "" {
			continue
		}
		var b live.ChatBatch
		if err := json.Unmarshal(p.data, &b); err != nil {
			t.Fatalf("chat batch %q: %v", p.data, err)
		}
		out = append(out, b)
	}
	return out
}

// connect joins a room as a real participant with token.
func connect(t *testing.T, url, token string) (*lksdk.Room, *received) {
	t.Helper()
	got := &received{}
	cb := lksdk.NewRoomCallback()
	cb.OnDataPacket = func(data lksdk.DataPacket, params lksdk.DataReceiveParams) {
		if u, ok := data.(*lksdk.UserDataPacket); ok {
			got.add(packet{topic: u.Topic, sender: params.SenderIdentity, data: u.Payload})
		}
	}
	room, err := lksdk.ConnectToRoomWithToken(url, token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(room.Disconnect)
	return room, got
}

func TestViewerInTheRoom(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		show := h.goLive(t, live.ModeWebRTC)
		viewer := "m-viewer-" + show.ID[len(show.ID)-6:]
		h.members.add(viewer)

		j, err := h.svc.Join(ctx, show.ID, viewer)
		if err != nil {
			t.Fatal(err)
		}
		if j.Room != show.RoomName || j.LiveKitURL != h.lk.URL || time.Until(j.ExpiresAt) > live.MaxViewerTokenTTL || time.Until(j.ExpiresAt) < 5*time.Minute {
			t.Fatalf("join = %+v", j)
		}
		// Every grant is set explicitly on the viewer token.
		v, err := auth.ParseAPIToken(j.Token)
		if err != nil {
			t.Fatal(err)
		}
		_, claims, err := v.Verify(h.lk.APISecret)
		if err != nil {
			t.Fatal(err)
		}
		g := claims.Video
		switch {
		case claims.Identity != viewer,
			g == nil || !g.RoomJoin || g.Room != show.RoomName,
			g.CanPublish == nil || *g.CanPublish,
			g.CanPublishData == nil || *g.CanPublishData,
			g.CanSubscribe == nil || !*g.CanSubscribe,
			g.CanUpdateOwnMetadata == nil || *g.CanUpdateOwnMetadata,
			g.RoomAdmin || g.RoomCreate || g.RoomList || g.RoomRecord || g.IngressAdmin || g.Hidden || g.Recorder || g.Agent,
			len(g.CanPublishSources) != 0:
			t.Fatalf("viewer grants = %+v identity %q", g, claims.Identity)
		}

		viewerRoom, viewerGot := connect(t, j.LiveKitURL, j.Token)
		host, err := h.svc.StaffToken(ctx, show.ID, live.StaffTokenRequest{StaffID: "host-1", Name: "主播"})
		if err != nil || host.Role != live.RoleHost {
			t.Fatalf("host token: %+v %v", host, err)
		}
		// The host publishes camera, microphone and screen, no data, and
		// carries the room's configuration.
		hv, err := auth.ParseAPIToken(host.Token.Token)
		if err != nil {
			t.Fatal(err)
		}
		_, hc, err := hv.Verify(h.lk.APISecret)
		if err != nil {
			t.Fatal(err)
		}
		if hg := hc.Video; hg.CanPublish == nil || !*hg.CanPublish || len(hg.CanPublishSources) != 4 ||
			hg.CanPublishData == nil || *hg.CanPublishData || hg.CanSubscribe == nil || !*hg.CanSubscribe ||
			hg.RoomAdmin || hg.RoomCreate || hg.RoomRecord || hg.Room != show.RoomName || hc.RoomConfig == nil || hc.RoomConfig.EmptyTimeout != 600 {
			t.Fatalf("host grants = %+v room config %v", hg, hc.RoomConfig)
		}
		_, hostGot := connect(t, host.LiveKitURL, host.Token.Token)
		asst, err := h.svc.StaffToken(ctx, show.ID, live.StaffTokenRequest{StaffID: "asst-1", PublishData: true})
		if err != nil || asst.Role != live.RoleAssistant {
			t.Fatalf("assistant token: %+v %v", asst, err)
		}
		if v, err := auth.ParseAPIToken(asst.Token.Token); err != nil {
			t.Fatal(err)
		} else if _, claims, err := v.Verify(h.lk.APISecret); err != nil || claims.Video.CanPublish == nil || *claims.Video.CanPublish ||
			claims.Video.CanPublishData == nil || !*claims.Video.CanPublishData || claims.RoomConfig != nil {
			t.Fatalf("assistant grants = %+v, %v", claims.Video, err)
		}
		asstRoom, _ := connect(t, asst.LiveKitURL, asst.Token.Token)
		if _, err := h.svc.StaffToken(ctx, show.ID, live.StaffTokenRequest{StaffID: "stranger"}); !errors.Is(err, live.ErrNotShowStaff) {
			t.Fatalf("stranger token: %v", err)
		}

		// Comments and likes reach the viewer in one chat batch a tick.
		var posted []string
		for i := range 3 {
			m := fmt.Sprintf("m-chat-%d-%s", i, show.ID[len(show.ID)-6:])
			h.members.add(m)
			c, err := h.svc.PostComment(ctx, show.ID, m, fmt.Sprintf("主播好 %d", i))
			if err != nil || c.Status != live.CommentPending {
				t.Fatalf("comment %d: %+v %v", i, c, err)
			}
			posted = append(posted, c.ID)
		}
		if n := h.moderate(t); n != len(posted) {
			t.Fatalf("moderated %d comments, want %d", n, len(posted))
		}
		if _, err := h.svc.Like(ctx, show.ID, viewer, 7); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.Broadcaster().Tick(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "chat batch", func() bool { return len(viewerGot.chatBatches(t)) == 1 })
		b := viewerGot.chatBatches(t)[0]
		if len(b.Comments) != 3 || b.Likes.Added != 7 || b.Likes.Total != 7 {
			t.Fatalf("batch = %+v", b)
		}
		for i, raw := range b.Comments {
			var c live.ChatComment
			if err := json.Unmarshal(raw, &c); err != nil || c.ID != posted[i] || c.Nickname == "" {
				t.Fatalf("comment %d = %s (%v)", i, raw, err)
			}
		}

		// The viewer may not publish a track…
		track, err := lksdk.NewLocalSampleTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := viewerRoom.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{Name: "mic"}); err == nil {
			t.Fatal("the viewer published a track")
		}
		// …nor data: the host never gets what the viewer sends, while an
		// assistant allowed to publish data gets through.
		if err := viewerRoom.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte(`{"forged":true}`)), lksdk.WithDataPublishTopic(live.TopicChat), lksdk.WithDataPublishReliable(true)); err != nil {
			t.Logf("viewer publish data: %v", err)
		}
		if err := asstRoom.LocalParticipant.PublishDataPacket(lksdk.UserData([]byte(`{"note":"ok"}`)), lksdk.WithDataPublishTopic("notes"), lksdk.WithDataPublishReliable(true)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "assistant data", func() bool { return len(hostGot.on("notes")) == 1 })
		time.Sleep(time.Second)
		for _, p := range hostGot.packets {
			if p.sender == viewer {
				t.Fatalf("the host received the viewer's data: %s", p.data)
			}
		}
		parts, err := h.kit.Participants(ctx, show.RoomName)
		if err != nil {
			t.Fatal(err)
		}
		lkRooms := lksdk.NewRoomServiceClient(h.lk.HTTPURL, h.lk.APIKey, h.lk.APISecret)
		info, err := lkRooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: show.RoomName, Identity: viewer})
		if err != nil {
			t.Fatal(err)
		}
		if len(info.Tracks) != 0 || info.Permission.CanPublish || info.Permission.CanPublishData || !info.Permission.CanSubscribe {
			t.Fatalf("viewer in LiveKit = tracks %v permission %+v", info.Tracks, info.Permission)
		}
		if len(parts) != 3 {
			t.Fatalf("participants = %+v", parts)
		}

		// A removed viewer is disconnected and may not join again.
		res, err := h.svc.PerformAction(ctx, "asst-1", show.ID, live.Action{Type: live.ActionRemoveViewer, MemberID: viewer})
		if err != nil || !res.Delivered {
			t.Fatalf("remove: %+v %v", res, err)
		}
		eventually(t, 5*time.Second, "viewer removed", func() bool {
			_, err := lkRooms.GetParticipant(ctx, &livekit.RoomParticipantIdentity{Room: show.RoomName, Identity: viewer})
			return err != nil
		})
		if _, err := h.svc.Join(ctx, show.ID, viewer); !errors.Is(err, live.ErrViewerRemoved) {
			t.Fatalf("join after removal: %v", err)
		}
		if _, err := h.svc.PostComment(ctx, show.ID, viewer, "我回来了"); !errors.Is(err, live.ErrViewerRemoved) {
			t.Fatalf("comment after removal: %v", err)
		}
	})
}
