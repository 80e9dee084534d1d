package community

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"
)

// maxPhoneCodeLength bounds a getPhoneNumber code (the platform's are 64
// hex characters).
const maxPhoneCodeLength = 256

// BindPhone exchanges a getPhoneNumber button code for the member's phone
// number and binds it, replacing any number bound before. WeChat is asked
// first, so when it refuses or fails nothing has changed.
func (m *Members) BindPhone(ctx context.Context, memberID, code string) (Member, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > maxPhoneCodeLength {
		return Member{}, fmt.Errorf("%w: code is empty or too long", ErrInvalidPhoneCode)
	}
	// The code is single use: make sure there is a member to bind it to
	// before spending it.
	if _, err := m.Get(ctx, memberID); err != nil {
		return Member{}, err
	}
	phone, err := m.wechat.PhoneNumber(ctx, code)
	if err != nil {
		return Member{}, err
	}
	var out Member
	err = m.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := findMember(ctx, tx, "id", memberID, true)
		if err != nil {
			return err
		}
		now := m.now()
		row.Phone, row.PhoneCountryCode, row.PhoneBoundAt, row.UpdatedAt = phone.Number, phone.CountryCode, &now, now
		if _, err := tx.NewUpdate().Model(row).Column("phone", "phone_country_code", "phone_bound_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("community: bind phone: %w", err)
		}
		out = row.member()
		return nil
	})
	return out, err
}
