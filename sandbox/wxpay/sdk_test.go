package wxpay

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/downloader"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// TestSDKFlow runs the whole payment life through the unmodified
// wechatpay-go client in every mode, verifying responses the way a
// merchant in that mode would, and the notifications with notify.Handler.
func TestSDKFlow(t *testing.T) {
	for _, tc := range []struct {
		mode       Mode
		how        verifyWith
		wantSerial func(c Credentials) string
	}{
		{ModePublicKey, withPublicKey, func(c Credentials) string { return c.PublicKeyID }},
		{ModeCertificate, withCertificate, func(c Credentials) string { return c.CertificateSerial }},
		{ModeMigrating, withPublicKey, func(c Credentials) string { return c.PublicKeyID }},
		{ModeMigrating, withCertificate, func(c Credentials) string { return c.CertificateSerial }},
	} {
		t.Run(string(tc.mode)+" verified with "+string(tc.how), func(t *testing.T) {
			m := &merchant{}
			s := newServer(t, Config{Mode: tc.mode, RefundDelay: 20 * time.Second}, m)
			m.handler = notifyHandler(t, s, tc.mode)
			ctx := context.Background()
			client := sdkClient(t, s, tc.how)
			pay := jsapi.JsapiApiService{Client: client}
			refunds := refunddomestic.RefundsApiService{Client: client}
			c := s.Credentials()
			mchid := core.String(c.MchID)

			req := validPrepay(s, "SY"+digits(12), 2990)
			req.TimeExpire = core.Time(time.Now().Add(15 * time.Minute))
			req.Attach = core.String("show=42")
			resp, result, err := pay.PrepayWithRequestPayment(ctx, req)
			if err != nil {
				t.Fatalf("prepay: %v", err)
			}
			if got := result.Response.Header.Get("Wechatpay-Serial"); got != tc.wantSerial(c) {
				t.Errorf("response serial %q, want %q", got, tc.wantSerial(c))
			}
			if len(*resp.PrepayId) < 10 || (*resp.PrepayId)[:2] != "wx" {
				t.Errorf("prepay_id %q", *resp.PrepayId)
			}

			tx, _, err := pay.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: req.OutTradeNo, Mchid: mchid})
			if err != nil {
				t.Fatalf("query unpaid: %v", err)
			}
			if *tx.TradeState != StateNotPay || tx.TransactionId != nil || *tx.Amount.Total != 2990 {
				t.Errorf("unpaid order: %v", tx)
			}

			// The shopper's phone gets exactly what the SDK produced.
			paid, err := s.Pay(PayRequest{
				TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr, Package: *resp.Package,
				SignType: *resp.SignType, PaySign: *resp.PaySign,
			})
			if err != nil {
				t.Fatalf("pay: %v", err)
			}
			if paid.ErrMsg != "requestPayment:ok" {
				t.Errorf("errMsg %q", paid.ErrMsg)
			}

			tx, _, err = pay.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: req.OutTradeNo, Mchid: mchid})
			if err != nil {
				t.Fatalf("query paid: %v", err)
			}
			if *tx.TradeState != StateSuccess || *tx.TransactionId == "" || *tx.Payer.Openid != *req.Payer.Openid ||
				*tx.Amount.PayerTotal != 2990 || *tx.Attach != "show=42" || *tx.TradeType != "JSAPI" {
				t.Errorf("paid order: %v", tx)
			}
			if _, err := time.Parse(time.RFC3339, *tx.SuccessTime); err != nil {
				t.Errorf("success_time: %v", err)
			}
			byID, _, err := pay.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{TransactionId: tx.TransactionId, Mchid: mchid})
			if err != nil {
				t.Fatalf("query by id: %v", err)
			}
			if *byID.OutTradeNo != *req.OutTradeNo {
				t.Errorf("by id: %v", byID)
			}

			_, err = pay.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: req.OutTradeNo, Mchid: mchid})
			if status, code := sdkCode(err); status != http.StatusBadRequest || code != "ORDERPAID" {
				t.Errorf("close paid order: %v", err)
			}

			rf, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{
				OutTradeNo:  req.OutTradeNo,
				OutRefundNo: core.String("RF" + digits(10)),
				Reason:      core.String("尺码不合适"),
				NotifyUrl:   core.String("https://shop.example.com/pay/refund-notify"),
				Amount:      &refunddomestic.AmountReq{Refund: core.Int64(990), Total: core.Int64(2990), Currency: core.String("CNY")},
			})
			if err != nil {
				t.Fatalf("refund: %v", err)
			}
			if *rf.Status != refunddomestic.STATUS_PROCESSING || *rf.Amount.Refund != 990 || *rf.TransactionId != *tx.TransactionId {
				t.Errorf("refund: %v", rf)
			}
			eventually(t, 5*time.Second, "refund success", func() bool {
				got, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: rf.OutRefundNo})
				if err != nil {
					t.Fatalf("query refund: %v", err)
				}
				return *got.Status == refunddomestic.STATUS_SUCCESS && got.SuccessTime != nil
			})
			tx, _, err = pay.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: req.OutTradeNo, Mchid: mchid})
			if err != nil || *tx.TradeState != StateRefund {
				t.Errorf("after refund: %v %v", tx, err)
			}

			other := validPrepay(s, "SY"+digits(12), 100)
			if _, _, err := pay.Prepay(ctx, other); err != nil {
				t.Fatal(err)
			}
			if _, err := pay.CloseOrder(ctx, jsapi.CloseOrderRequest{OutTradeNo: other.OutTradeNo, Mchid: mchid}); err != nil {
				t.Fatalf("close: %v", err)
			}
			closed, _, err := pay.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: other.OutTradeNo, Mchid: mchid})
			if err != nil || *closed.TradeState != StateClosed {
				t.Errorf("closed order: %v %v", closed, err)
			}

			// Both notifications arrive, pass the merchant's notify.Handler
			// and decrypt to what happened.
			eventually(t, 5*time.Second, "notifications delivered", func() bool {
				ns := s.Notifications()
				return len(ns) == 2 && ns[0].Status == NotifyDelivered && ns[1].Status == NotifyDelivered
			})
			if n := m.rejections(); n != 0 {
				t.Fatalf("merchant rejected %d notifications", n)
			}
			ns := s.Notifications()
			got := []received{m.receivedFor(t, ns[0].ID), m.receivedFor(t, ns[1].ID)}
			var payment payments.Transaction
			n, err := m.handler.ParseNotifyRequest(ctx, got[0].request(), &payment)
			if err != nil {
				t.Fatalf("payment notification: %v", err)
			}
			if n.EventType != "TRANSACTION.SUCCESS" || n.ResourceType != "encrypt-resource" || n.Resource.OriginalType != "transaction" ||
				*payment.TradeState != StateSuccess || *payment.TransactionId != *tx.TransactionId || *payment.OutTradeNo != *req.OutTradeNo {
				t.Errorf("payment notification %+v: %v", n, payment)
			}
			var refunded struct {
				OutRefundNo  string `json:"out_refund_no"`
				RefundStatus string `json:"refund_status"`
				Amount       struct {
					Refund int64 `json:"refund"`
				} `json:"amount"`
			}
			n, err = m.handler.ParseNotifyRequest(ctx, got[1].request(), &refunded)
			if err != nil {
				t.Fatalf("refund notification: %v", err)
			}
			if n.EventType != "REFUND.SUCCESS" || refunded.OutRefundNo != *rf.OutRefundNo || refunded.RefundStatus != "SUCCESS" || refunded.Amount.Refund != 990 {
				t.Errorf("refund notification %+v: %+v", n, refunded)
			}
			if tc.mode == ModeMigrating {
				// A migrating merchant gets both kinds of signature.
				if a, b := got[0].header.Get("Wechatpay-Serial"), got[1].header.Get("Wechatpay-Serial"); a == b {
					t.Errorf("migrating notifications both signed by %s", a)
				}
			}
		})
	}
}

// TestCertificatesPerMode checks GET /v3/certificates: the encrypted
// platform certificate for merchants that have one, and the 404 a
// public-key merchant gets, through wechatpay-go's downloader.
func TestCertificatesPerMode(t *testing.T) {
	for _, tc := range []struct {
		mode     Mode
		wantCode string
	}{
		{ModePublicKey, "RESOURCE_NOT_EXISTS"},
		{ModeCertificate, ""},
		{ModeMigrating, ""},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			s := newServer(t, Config{Mode: tc.mode}, nil)
			c := loadCreds(t, s)
			ctx := context.Background()
			dl, err := core.NewClient(ctx, option.WithMerchantCredential(c.MchID, c.MerchantSerial, c.key),
				option.WithoutValidator(), option.WithHTTPClient(apiHTTPClient(s)))
			if err != nil {
				t.Fatal(err)
			}
			d, err := downloader.NewCertificateDownloaderWithClient(ctx, dl, c.APIv3Key)
			if tc.wantCode != "" {
				if status, code := sdkCode(err); status != http.StatusNotFound || code != tc.wantCode {
					t.Fatalf("download: %v, want 404 %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			got, ok := d.Get(ctx, c.CertificateSerial)
			if !ok || !got.Equal(c.cert) {
				t.Fatalf("downloaded %v, want the platform certificate %s", d.GetAll(ctx), c.CertificateSerial)
			}
			// A second download goes through the validator the downloader
			// built from the first: the response is signed by that cert.
			if err := d.DownloadCertificates(ctx); err != nil {
				t.Fatalf("second download: %v", err)
			}
		})
	}
}

// TestCertificateModeIgnoresPublicKeyClient: a merchant still in
// certificate mode whose client expects the public key cannot verify,
// exactly as on the real platform.
func TestCertificateModeIgnoresPublicKeyClient(t *testing.T) {
	s := newServer(t, Config{Mode: ModeCertificate}, nil)
	pay := jsapi.JsapiApiService{Client: sdkClient(t, s, withPublicKey)}
	_, _, err := pay.Prepay(context.Background(), validPrepay(s, "SY"+digits(12), 100))
	if err == nil {
		t.Fatal("a public-key client verified a certificate-signed response")
	}
	if status, _ := sdkCode(err); status != 0 {
		t.Fatalf("want a verification failure, got API error %v", err)
	}
}
