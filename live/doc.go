// Package live runs Siyu's live shows on a self-hosted LiveKit server.
//
// A show is scheduled by staff and moves scheduled → live → ended →
// replay_ready (or scheduled → cancelled). Every transition is made under
// the show's row lock, by a staff action or by a LiveKit room event, and is
// stamped on the show's timeline. Going live provisions the LiveKit room
// (RoomService) and asks Egress for a recording (and a live HLS playlist in
// HLS mode); a LiveKit without Egress still goes live, and the show says
// recording is unavailable.
//
// Viewers get subscribe-only tokens for the show's room, valid for at most
// 15 minutes. Chat goes through Siyu: each comment is rate limited per
// member and accepted at once into its room's ingest stream in Redis
// (PostComment; concurrent comments share a round trip). A
// ModerationWorker in every worker takes the streams' comments in a
// consumer group, checks them against the brand's blocklist and WeChat's
// msg_sec_check (failing closed), stores them once, and queues the
// visible ones in Redis. A Broadcaster sends each
// room's queued comments and likes as one data message on the "chat" topic
// per tick, so a room gets at most one chat send per tick however many
// replicas run and however fast comments arrive. Control actions (pins,
// flash-sale countdowns, announcements, moderation) are broadcast on the
// "control" topic and stamped on the timeline.
//
// LiveKit's webhooks (WebhookHandler) are verified with the SDK's receiver,
// deduplicated by event id in the transaction of their effect, and move
// shows and viewer sessions. Viewer sessions are keyed by (show, identity,
// participant sid) with event timestamps, so missing, duplicated and
// reordered events still give the right watch times and concurrent
// viewers; Reconcile compares them with ListParticipants.
//
// Reservations record the subscribe-message consents a shopper granted;
// reminders and replay notices go out through the outbox and a Notifier
// that spends one consent per message.
package live
