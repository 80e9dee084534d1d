package community_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/sandbox/miniprogram"
	"github.com/siyu-live/siyu/testsupport"
)

// togetherSender holds every message until n have come, then sends them
// all at once: senders that finish together.
type togetherSender struct {
	community.SubscribeSender
	arrived sync.WaitGroup
}

func (s *togetherSender) SendSubscribe(ctx context.Context, m community.SubscribeMessage) error {
	s.arrived.Done()
	s.arrived.Wait()
	return s.SubscribeSender.SendSubscribe(ctx, m)
}

func TestConsentSendsFinishedTogetherAreAllRecorded(t *testing.T) {
	testsupport.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		const n = 16
		mp, wire := newPlatform(t)
		together := &togetherSender{SubscribeSender: wire}
		together.arrived.Add(n)
		l, err := community.NewConsents(community.ConsentsConfig{DB: db, Sender: together})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := mp.GrantSubscribe(fmt.Sprintf("o-t%d", i), miniprogram.TemplateLiveStart, 1); err != nil {
				t.Fatal(err)
			}
			grant(t, ctx, db, l, fmt.Sprintf("m-t%d", i), miniprogram.TemplateLiveStart)
		}
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				st, err := l.Send(ctx, community.SendRequest{Key: fmt.Sprintf("k-t%d", i), MemberID: fmt.Sprintf("m-t%d", i), Message: reminder(fmt.Sprintf("o-t%d", i))})
				if err == nil && st != community.SendSent {
					err = fmt.Errorf("status %s", st)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		var sent int
		if err := db.NewSelect().Table("subscribe_sends").Where("key LIKE 'k-t%' AND status = ?", community.SendSent).ColumnExpr("count(*)").Scan(ctx, &sent); err != nil {
			t.Fatal(err)
		}
		if sent != n || len(mp.SentSubscribeMessages()) != n {
			t.Fatalf("%d recorded sent, %d sent on WeChat, want %d", sent, len(mp.SentSubscribeMessages()), n)
		}
	})
}
