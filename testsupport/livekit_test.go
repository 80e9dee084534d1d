package testsupport

import (
	"context"
	"testing"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

func TestStartLiveKit(t *testing.T) {
	lk := StartLiveKit(t, LiveKitOptions{})
	rooms := lksdk.NewRoomServiceClient(lk.HTTPURL, lk.APIKey, lk.APISecret)
	room, err := rooms.CreateRoom(context.Background(), &livekit.CreateRoomRequest{Name: "probe"})
	if err != nil {
		t.Fatalf("create room: %v\n%s", err, lk.Logs())
	}
	if room.Name != "probe" {
		t.Fatalf("room name = %q", room.Name)
	}
}
