package miniprogram_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/miniprogram/order"

	"github.com/siyu-live/siyu/sandbox/miniprogram"
)

// parcel is a valid express shipment of one order paid by o-buyer.
func parcel(txid string, at time.Time) *order.UploadShippingInfoRequest {
	return &order.UploadShippingInfoRequest{
		OrderKey:      &order.ShippingOrderKey{OrderNumberType: order.NumberTypeTransactionID, TransactionID: txid},
		LogisticsType: order.LogisticsTypeExpress,
		DeliveryMode:  order.DeliveryModeUnifiedDelivery,
		ShippingList: []*order.ShippingInfo{{
			TrackingNo: "SF1400012345678", ExpressCompany: "SF", ItemDesc: "直播间爆款卫衣*1",
			Contact: order.ShippingContact{ReceiverContact: "138****5678"},
		}},
		UploadTime: &at,
		Payer:      &order.ShippingPayer{Openid: "o-buyer"},
	}
}

func TestShippingUploadThroughSDK(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	ship := f.mp.GetShipping()
	at := start.Add(time.Hour)
	if err := ship.UploadShippingInfo(parcel("4200002990202603021234567890", at)); err != nil {
		t.Fatal(err)
	}
	ups := f.srv.ShippingUploads()
	if len(ups) != 1 {
		t.Fatalf("recorded %d uploads, want 1", len(ups))
	}
	up := ups[0]
	if up.OrderKey.TransactionID != "4200002990202603021234567890" || up.PayerOpenID != "o-buyer" || up.ShippingList[0].TrackingNo != "SF1400012345678" ||
		!up.UploadTime.Equal(at) || up.DeliveryMode != 1 || up.LogisticsType != 1 || up.Reship || !up.ReceivedAt.Equal(start) {
		t.Fatalf("recorded upload = %+v", up)
	}

	// An identical upload changes nothing; a new one is the order's one
	// re-shipping chance; after that the order is closed to uploads.
	again := parcel("4200002990202603021234567890", at.Add(time.Minute))
	if got := errcode(t, ship.UploadShippingInfo(again)); got != 10060023 {
		t.Fatalf("identical upload: errcode %d, want 10060023", got)
	}
	fixed := parcel("4200002990202603021234567890", at.Add(time.Minute))
	fixed.ShippingList[0].TrackingNo = "SF1400012345679"
	if err := ship.UploadShippingInfo(fixed); err != nil {
		t.Fatalf("re-shipping: %v", err)
	}
	if ups := f.srv.ShippingUploads(); len(ups) != 2 || !ups[1].Reship {
		t.Fatalf("re-shipping recorded %+v", ups)
	}
	third := parcel("4200002990202603021234567890", at.Add(2*time.Minute))
	third.ShippingList[0].TrackingNo = "SF1400012345680"
	if got := errcode(t, ship.UploadShippingInfo(third)); got != 10060003 {
		t.Fatalf("second re-shipping: errcode %d, want 10060003", got)
	}
}

func TestShippingSplitDelivery(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	ship := f.mp.GetShipping()
	split := func(at time.Time, all bool, packages ...string) *order.UploadShippingInfoRequest {
		req := parcel("4200002990202603029999", at)
		req.DeliveryMode = order.DeliveryModeSplitDelivery
		req.IsAllDelivered = all
		req.ShippingList = nil
		for _, no := range packages {
			req.ShippingList = append(req.ShippingList, &order.ShippingInfo{TrackingNo: no, ExpressCompany: "YTO", ItemDesc: "面膜*1"})
		}
		return req
	}
	if err := ship.UploadShippingInfo(split(start, false, "YT1")); err != nil {
		t.Fatal(err)
	}
	// Adding packages before everything is shipped is not a re-shipping.
	if err := ship.UploadShippingInfo(split(start.Add(time.Hour), true, "YT1", "YT2")); err != nil {
		t.Fatal(err)
	}
	ups := f.srv.ShippingUploads()
	if len(ups) != 2 || ups[1].Reship || !ups[1].IsAllDelivered || len(ups[1].ShippingList) != 2 {
		t.Fatalf("split uploads = %+v", ups)
	}
	// Uploads must move forward in time.
	late := split(start.Add(30*time.Minute), true, "YT1", "YT3")
	if got := errcode(t, ship.UploadShippingInfo(late)); got != 10060014 {
		t.Fatalf("upload older than the last: errcode %d, want 10060014", got)
	}
}

func TestShippingValidation(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	ship := f.mp.GetShipping()
	tests := []struct {
		name   string
		change func(r *order.UploadShippingInfoRequest)
		want   int64
	}{
		{name: "valid", change: func(*order.UploadShippingInfoRequest) {}},
		{name: "by merchant order number", change: func(r *order.UploadShippingInfoRequest) {
			r.OrderKey = &order.ShippingOrderKey{OrderNumberType: order.NumberTypeOutTradeNo, Mchid: "1900000109", OutTradeNo: "SY20260302-1"}
		}},
		{name: "no order key", change: func(r *order.UploadShippingInfoRequest) { r.OrderKey = nil }, want: 268485194},
		{name: "order number type 3", change: func(r *order.UploadShippingInfoRequest) { r.OrderKey.OrderNumberType = 3 }, want: 268485194},
		{name: "no transaction id", change: func(r *order.UploadShippingInfoRequest) { r.OrderKey.TransactionID = "" }, want: 268485195},
		{name: "no mchid", change: func(r *order.UploadShippingInfoRequest) {
			r.OrderKey = &order.ShippingOrderKey{OrderNumberType: order.NumberTypeOutTradeNo, OutTradeNo: "SY1"}
		}, want: 268485196},
		{name: "no out_trade_no", change: func(r *order.UploadShippingInfoRequest) {
			r.OrderKey = &order.ShippingOrderKey{OrderNumberType: order.NumberTypeOutTradeNo, Mchid: "1900000109"}
		}, want: 268485197},
		{name: "logistics type 5", change: func(r *order.UploadShippingInfoRequest) { r.LogisticsType = 5 }, want: 10060005},
		{name: "delivery mode 3", change: func(r *order.UploadShippingInfoRequest) { r.DeliveryMode = 3 }, want: 268485224},
		{name: "split virtual goods", change: func(r *order.UploadShippingInfoRequest) {
			r.DeliveryMode = order.DeliveryModeSplitDelivery
			r.LogisticsType = order.LogisticsTypeVirtual
		}, want: 10060006},
		{name: "no packages", change: func(r *order.UploadShippingInfoRequest) { r.ShippingList = nil }, want: 10060014},
		{name: "unified with two packages", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList = append(r.ShippingList, r.ShippingList[0])
		}, want: 268485228},
		{name: "16 packages", change: func(r *order.UploadShippingInfoRequest) {
			r.DeliveryMode = order.DeliveryModeSplitDelivery
			for range 15 {
				r.ShippingList = append(r.ShippingList, r.ShippingList[0])
			}
		}, want: 10060024},
		{name: "no item description", change: func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].ItemDesc = "" }, want: 10060008},
		{name: "long item description", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList[0].ItemDesc = strings.Repeat("卫", 121)
		}, want: 10060009},
		{name: "express without tracking number", change: func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].TrackingNo = "" }, want: 268485226},
		{name: "express without company", change: func(r *order.UploadShippingInfoRequest) { r.ShippingList[0].ExpressCompany = "" }, want: 268485227},
		{name: "long tracking number", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList[0].TrackingNo = strings.Repeat("9", 129)
		}, want: 10060026},
		{name: "long company code", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList[0].ExpressCompany = strings.Repeat("Y", 129)
		}, want: 10060025},
		{name: "SF without contact", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList[0].Contact = order.ShippingContact{}
		}, want: 10060014},
		{name: "contact masked to the end", change: func(r *order.UploadShippingInfoRequest) {
			r.ShippingList[0].Contact = order.ShippingContact{ConsignorContact: "138****"}
		}, want: 10060014},
		{name: "self pickup needs no tracking", change: func(r *order.UploadShippingInfoRequest) {
			r.LogisticsType = order.LogisticsTypeSelfPickup
			r.ShippingList[0] = &order.ShippingInfo{ItemDesc: "门店自提*1"}
		}},
		{name: "no upload time", change: func(r *order.UploadShippingInfoRequest) { r.UploadTime = nil }, want: 268485216},
		{name: "no payer", change: func(r *order.UploadShippingInfoRequest) { r.Payer = nil }, want: 10060014},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A fresh order each time, so successes do not use up uploads.
			r := parcel("42000029902026030200"+string(rune('a'+i)), start)
			tt.change(r)
			if got := errcode(t, ship.UploadShippingInfo(r)); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestShippingSplitNeedsIsAllDelivered(t *testing.T) {
	f := newFixture(t, miniprogram.Config{})
	token := stableToken(t, f.srv, false)["access_token"].(string)
	// The SDK always sends is_all_delivered, so this is sent by hand.
	got := call(t, f.srv, http.MethodPost, "/wxa/sec/order/upload_shipping_info?access_token="+token, map[string]any{
		"order_key":      map[string]any{"order_number_type": 2, "transaction_id": "4200001"},
		"logistics_type": 1, "delivery_mode": "SPLIT_DELIVERY",
		"shipping_list": []map[string]any{{"tracking_no": "YT1", "express_company": "YTO", "item_desc": "面膜*1"}},
		"upload_time":   "2026-03-02T13:29:35.120+08:00", "payer": map[string]any{"openid": "o-buyer"},
	})
	if code(got) != 10060007 {
		t.Fatalf("split without is_all_delivered: %v, want errcode 10060007", got)
	}
}

func TestShippingPaymentLookup(t *testing.T) {
	paid := map[string]string{"4200000001": "o-buyer"}
	f := newFixture(t, miniprogram.Config{FindPayment: func(k miniprogram.OrderKey) (string, bool) {
		payer, ok := paid[k.TransactionID]
		return payer, ok
	}})
	ship := f.mp.GetShipping()
	tests := []struct {
		name, txid, payer string
		want              int64
	}{
		{name: "paid by the payer", txid: "4200000001", payer: "o-buyer"},
		{name: "no such payment", txid: "4200000002", payer: "o-buyer", want: 10060001},
		{name: "someone else's payment", txid: "4200000001", payer: "o-other", want: 10060031},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parcel(tt.txid, start)
			r.Payer.Openid = tt.payer
			if got := errcode(t, ship.UploadShippingInfo(r)); got != tt.want {
				t.Fatalf("errcode = %d, want %d", got, tt.want)
			}
		})
	}
}
