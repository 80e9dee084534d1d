package miniprogram_test

import (
	"errors"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/business"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

func TestPhoneNumberThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	tests := []struct {
		phone                 string
		number, pure, country string
	}{
		{phone: "13800138000", number: "13800138000", pure: "13800138000", country: "86"},
		{phone: "+86 13912345678", number: "13912345678", pure: "13912345678", country: "86"},
		{phone: "+1 4155550100", number: "+14155550100", pure: "4155550100", country: "1"},
		{phone: "+852-91234567", number: "+85291234567", pure: "91234567", country: "852"},
	}
	for _, tt := range tests {
		t.Run(tt.phone, func(t *testing.T) {
			code, err := f.srv.MintPhoneCode(tt.phone)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.mp.GetAuth().GetPhoneNumber(code)
			if err != nil {
				t.Fatal(err)
			}
			info := got.PhoneInfo
			if info.PhoneNumber != tt.number || info.PurePhoneNumber != tt.pure || info.CountryCode != tt.country {
				t.Fatalf("phone_info = %+v, want %s / %s / %s", info, tt.number, tt.pure, tt.country)
			}
			if info.WaterMark.AppID != f.srv.Settings()[miniprogram.SettingAppID] || info.WaterMark.Timestamp != start.Unix() {
				t.Fatalf("watermark = %+v, want the appid and the tap's time", info.WaterMark)
			}
		})
	}
}

func TestPhoneCodeIsSingleUseAndShortLived(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	biz := f.mp.GetBusiness()
	tests := []struct {
		name string
		code func() string
		want int64
	}{
		{name: "fresh", code: func() string { return mustPhoneCode(t, f.srv, "13800138000") }},
		{name: "used twice", code: func() string {
			c := mustPhoneCode(t, f.srv, "13800138000")
			if _, err := biz.GetPhoneNumber(&business.GetPhoneNumberRequest{Code: c}); err != nil {
				t.Fatal(err)
			}
			return c
		}, want: 40029},
		{name: "expired", code: func() string {
			c := mustPhoneCode(t, f.srv, "13800138000")
			f.clock.Advance(5 * time.Minute)
			return c
		}, want: 40029},
		{name: "a login code", code: func() string { return f.srv.MintLoginCode("o-mixup", "") }, want: 40029},
		{name: "empty", code: func() string { return "" }, want: 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := biz.GetPhoneNumber(&business.GetPhoneNumberRequest{Code: tt.code()})
			if got := errcode(t, err); got != tt.want {
				t.Fatalf("errcode = %d, want %d (%v)", got, tt.want, err)
			}
			if tt.want == 0 && info.PhoneNumber != "13800138000" {
				t.Fatalf("phone = %+v", info)
			}
		})
	}
}

func TestMintPhoneCodeErrors(t *testing.T) {
	f := newFixture(t, miniprogram.Config{PhoneQuota: 1})
	for _, bad := range []string{"", "1380013800", "23800138000", "+8613800138000", "+86 23800138000", "phone"} {
		if _, err := f.srv.MintPhoneCode(bad); !errors.Is(err, miniprogram.ErrInvalidPhone) {
			t.Errorf("MintPhoneCode(%q) error = %v, want ErrInvalidPhone", bad, err)
		}
	}
	mustPhoneCode(t, f.srv, "13800138000")
	if _, err := f.srv.MintPhoneCode("13800138001"); !errors.Is(err, miniprogram.ErrPhoneQuota) {
		t.Fatalf("second phone with a quota of one: %v, want ErrPhoneQuota", err)
	}
}

func mustPhoneCode(t *testing.T, srv *miniprogram.Server, phone string) string {
	t.Helper()
	c, err := srv.MintPhoneCode(phone)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
