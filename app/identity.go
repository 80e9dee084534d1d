package main

import (
	"context"

	"github.com/siyu-live/siyu/community"
	"github.com/siyu-live/siyu/console"
	"github.com/siyu-live/siyu/staff"
)

// buildIdentity builds the WeChat clients, the shopper identity service
// and the staff service.
func (a *application) buildIdentity() error {
	key, err := secretKey(a.cfg)
	if err != nil {
		return err
	}
	if a.wechat, err = newWeChat(a.cfg, a.st.redis, a.log); err != nil {
		return err
	}
	a.members, err = community.NewMembers(community.MembersConfig{
		DB:        a.st.db,
		Redis:     a.st.redis,
		WeChat:    community.NewMiniProgramAuth(a.wechat.mp, a.wechat.mpTokens),
		SecretKey: key,
		Logger:    a.log,
	})
	if err != nil {
		return err
	}
	a.staff, err = staff.New(staff.Config{DB: a.st.db, Logger: a.log})
	return err
}

// staffSessions is the console's view of staff sessions.
type staffSessions struct{ s *staff.Service }

// AuthenticateStaff implements console.Sessions.
func (a staffSessions) AuthenticateStaff(ctx context.Context, token string) (console.Staff, error) {
	acc, err := a.s.Authenticate(ctx, token)
	if err != nil {
		return console.Staff{}, err
	}
	return console.Staff{ID: acc.ID, Name: acc.Name, Role: acc.Role}, nil
}
