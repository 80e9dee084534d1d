package payments

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// TestMiniProgramShipping uploads through silenceper/wechat to the
// mini-program sandbox, which checks the request as WeChat does.
func TestMiniProgramShipping(t *testing.T) {
	mp, err := miniprogram.New(miniprogram.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = mp
	wechatHandler.Store(&h)
	t.Cleanup(func() { wechatHandler.Store(nil) })
	set := mp.Settings()
	appID, secret := set[miniprogram.SettingAppID], set[miniprogram.SettingAppSecret]
	tokens := credential.NewStableAccessToken(appID, secret, credential.CacheKeyMiniProgramPrefix, cache.NewMemory())
	ship := NewMiniProgramShipping(appID, secret, tokens)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		in      ShippingInfo
		wantErr bool
	}{
		{"express", ShippingInfo{MchID: "1230000109", OutTradeNo: "0190aaaabbbbccccddddeeeeffff0000", OpenID: "o_m1", Carrier: "ZTO",
			TrackingNo: "ZT1234567890", ItemDesc: "云南普洱 357g"}, false},
		{"SF needs a contact", ShippingInfo{MchID: "1230000109", OutTradeNo: "0190aaaabbbbccccddddeeeeffff0001", OpenID: "o_m1", Carrier: "SF",
			TrackingNo: "SF1234567890", ItemDesc: "云南普洱 357g"}, true},
		{"SF with the masked phone", ShippingInfo{MchID: "1230000109", OutTradeNo: "0190aaaabbbbccccddddeeeeffff0001", OpenID: "o_m1", Carrier: "SF",
			TrackingNo: "SF1234567890", ItemDesc: "云南普洱 357g", ReceiverContact: "138****8000"}, false},
		{"no item description", ShippingInfo{MchID: "1230000109", OutTradeNo: "0190aaaabbbbccccddddeeeeffff0002", OpenID: "o_m1", Carrier: "ZTO",
			TrackingNo: "ZT1"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.UploadTime = time.Now()
			err := ship.UploadShippingInfo(ctx, tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	ups := mp.ShippingUploads()
	if len(ups) != 2 || ups[0].OrderKey.OutTradeNo != "0190aaaabbbbccccddddeeeeffff0000" || ups[0].PayerOpenID != "o_m1" ||
		ups[0].ShippingList[0].ExpressCompany != "ZTO" || ups[0].LogisticsType != 1 || ups[0].DeliveryMode != 1 {
		t.Fatalf("uploads %+v", ups)
	}
}
