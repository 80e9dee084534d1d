package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/live"
	"github.com/siyu-live/siyu/testsupport"
)

func TestShowValidation(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		soon := time.Now().Add(time.Hour)
		cases := []struct {
			name  string
			in    live.ShowInput
			field string
		}{
			{"no title", live.ShowInput{ScheduledAt: soon, HostStaffID: "h"}, "title"},
			{"long title", live.ShowInput{Title: string(make([]rune, 61)), ScheduledAt: soon, HostStaffID: "h"}, "title"},
			{"no start", live.ShowInput{Title: "t", HostStaffID: "h"}, "scheduled_at"},
			{"past start", live.ShowInput{Title: "t", ScheduledAt: time.Now().Add(-time.Hour), HostStaffID: "h"}, "scheduled_at"},
			{"no host", live.ShowInput{Title: "t", ScheduledAt: soon}, "host_staff_id"},
			{"bad mode", live.ShowInput{Title: "t", ScheduledAt: soon, HostStaffID: "h", Mode: "flv"}, "mode"},
			{"host assists", live.ShowInput{Title: "t", ScheduledAt: soon, HostStaffID: "h", AssistantIDs: []string{"h"}}, "assistant_ids"},
			{"bad cover", live.ShowInput{Title: "t", ScheduledAt: soon, HostStaffID: "h", CoverURL: "ftp://x"}, "cover_url"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := h.svc.CreateShow(ctx, "admin", c.in)
				var ve *live.ValidationError
				if !errors.As(err, &ve) || ve.Field != c.field || !errors.Is(err, live.ErrInvalid) {
					t.Fatalf("err = %v, want a validation error on %s", err, c.field)
				}
			})
		}
	})
}

func TestShowLifecycle(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		h := newHarness(t, db, options{})
		ctx := context.Background()
		show := h.schedule(t, live.ModeBoth)
		if show.Status != live.StatusScheduled || show.RoomName != "show-"+show.ID {
			t.Fatalf("new show = %+v", show)
		}

		title := "春季新品发布会（加场）"
		start := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		edited, err := h.svc.UpdateShow(ctx, "admin-1", show.ID, live.ShowPatch{Title: &title, ScheduledAt: &start, AssistantIDs: &[]string{"asst-1", "asst-2", "asst-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if edited.Title != title || !edited.ScheduledAt.Equal(start) || len(edited.AssistantIDs) != 2 {
			t.Fatalf("edited = %+v", edited)
		}
		list, err := h.svc.ListShows(ctx, live.ShowFilter{Statuses: []live.Status{live.StatusScheduled}})
		if err != nil || len(list) != 1 || list[0].ID != show.ID || list[0].AssistantIDs[1] != "asst-2" {
			t.Fatalf("list = %+v, %v", list, err)
		}

		// Illegal transitions are refused with the states named.
		for _, step := range []struct {
			name string
			do   func() error
			from live.Status
			to   live.Status
		}{
			{"end a scheduled show", func() error { _, err := h.svc.EndShow(ctx, "host-1", show.ID); return err }, live.StatusScheduled, live.StatusEnded},
		} {
			err := step.do()
			var te *live.TransitionError
			if !errors.As(err, &te) || te.From != step.from || te.To != step.to || !errors.Is(err, live.ErrTransition) {
				t.Fatalf("%s: err = %v", step.name, err)
			}
		}

		live1, err := h.svc.StartShow(ctx, "host-1", show.ID)
		if err != nil {
			t.Fatal(err)
		}
		if live1.Status != live.StatusLive || live1.LiveAt == nil || live1.RecordingStatus != live.RecordingStarting {
			t.Fatalf("started = %+v", live1)
		}
		// The room exists with the show's metadata, empty timeout and cap.
		lkRooms := lksdk.NewRoomServiceClient(h.lk.HTTPURL, h.lk.APIKey, h.lk.APISecret)
		rooms, err := lkRooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{show.RoomName}})
		if err != nil || len(rooms.Rooms) != 1 {
			t.Fatalf("rooms = %v, %v", rooms, err)
		}
		var meta map[string]string
		_ = json.Unmarshal([]byte(rooms.Rooms[0].Metadata), &meta)
		if meta["show_id"] != show.ID || rooms.Rooms[0].EmptyTimeout != 600 || rooms.Rooms[0].MaxParticipants != 2000 {
			t.Fatalf("room = %+v", rooms.Rooms[0])
		}
		if _, err := h.svc.UpdateShow(ctx, "admin-1", show.ID, live.ShowPatch{Title: &title}); !errors.Is(err, live.ErrShowNotEditable) {
			t.Fatalf("edit live show: %v", err)
		}
		if _, err := h.svc.StartShow(ctx, "host-1", show.ID); !errors.Is(err, live.ErrTransition) {
			t.Fatalf("start live show: %v", err)
		}
		if _, err := h.svc.CancelShow(ctx, "host-1", show.ID); !errors.Is(err, live.ErrTransition) {
			t.Fatalf("cancel live show: %v", err)
		}

		// This LiveKit has no Egress: the show stays live and says so.
		rows := outboxRows(t, db, live.TaskStartRecording)
		if len(rows) != 1 {
			t.Fatalf("start-recording tasks = %d", len(rows))
		}
		if err := h.svc.StartRecording(ctx, decode[live.ShowTask](t, rows[0].Payload).ShowID); err != nil {
			t.Fatal(err)
		}
		got := h.show(t, show.ID)
		if got.Status != live.StatusLive || got.RecordingStatus != live.RecordingUnavailable || got.RecordingNote == "" || got.HLSURL != "" {
			t.Fatalf("after recording attempt = %+v", got)
		}

		ended, err := h.svc.EndShow(ctx, "host-1", show.ID)
		if err != nil || ended.Status != live.StatusEnded || ended.EndedAt == nil {
			t.Fatalf("end = %+v, %v", ended, err)
		}
		closeRows := outboxRows(t, db, live.TaskCloseRoom)
		if len(closeRows) != 1 {
			t.Fatalf("close-room tasks = %d", len(closeRows))
		}
		if err := h.svc.CloseRoom(ctx, show.ID); err != nil {
			t.Fatal(err)
		}
		rooms, _ = lkRooms.ListRooms(ctx, &livekit.ListRoomsRequest{Names: []string{show.RoomName}})
		if len(rooms.Rooms) != 0 {
			t.Fatalf("room still open: %v", rooms.Rooms)
		}
		// Closing twice is fine (the job may run again).
		if err := h.svc.CloseRoom(ctx, show.ID); err != nil {
			t.Fatal(err)
		}

		evs, err := h.svc.Timeline(ctx, show.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []live.EventKind
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		want := []live.EventKind{live.EventScheduled, live.EventRescheduled, live.EventLive, live.EventRecordingUnavailable, live.EventEnded}
		if len(kinds) != len(want) {
			t.Fatalf("timeline = %v, want %v", kinds, want)
		}
		for i := range want {
			if kinds[i] != want[i] {
				t.Fatalf("timeline = %v, want %v", kinds, want)
			}
		}

		other := h.schedule(t, live.ModeWebRTC)
		if c, err := h.svc.CancelShow(ctx, "admin-1", other.ID); err != nil || c.Status != live.StatusCancelled {
			t.Fatalf("cancel = %+v, %v", c, err)
		}
		if _, err := h.svc.StartShow(ctx, "host-1", other.ID); !errors.Is(err, live.ErrTransition) {
			t.Fatalf("start cancelled: %v", err)
		}
		if _, err := h.svc.Show(ctx, "nope"); !errors.Is(err, live.ErrShowNotFound) {
			t.Fatalf("missing show: %v", err)
		}
	})
}

func TestIngressUnavailable(t *testing.T) {
	db := testsupport.DB(t, testsupport.SQLite)
	h := newHarness(t, db, options{})
	ctx := context.Background()
	show := h.schedule(t, live.ModeWebRTC)
	for _, kind := range []live.IngressKind{live.IngressRTMP, live.IngressWHIP} {
		if _, err := h.svc.CreateIngress(ctx, "host-1", false, show.ID, kind); !errors.Is(err, live.ErrIngressUnavailable) {
			t.Fatalf("%s ingress: %v, want ErrIngressUnavailable", kind, err)
		}
	}
	if _, err := h.svc.CreateIngress(ctx, "stranger", false, show.ID, live.IngressRTMP); !errors.Is(err, live.ErrNotShowStaff) {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := h.svc.CreateIngress(ctx, "host-1", false, show.ID, "srt"); !errors.Is(err, live.ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
}
