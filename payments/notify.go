package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	wxpayments "github.com/wechatpay-apiv3/wechatpay-go/services/payments"
)

// NotifyParser verifies a notification's signature and decrypts its
// resource into content; wechatpay-go's *notify.Handler is one.
type NotifyParser interface {
	ParseNotifyRequest(ctx context.Context, r *http.Request, content any) (*notify.Request, error)
}

// Why a notification was refused or ignored, the labels of the metric.
const (
	RejectForged   = "forged"   // the signature or the ciphertext does not verify
	RejectProbe    = "probe"    // a WECHATPAY/SIGNTEST/ signature probe
	RejectStale    = "stale"    // signed more than five minutes away from now
	RejectReplay   = "replay"   // a notification already handled
	RejectMismatch = "mismatch" // amount, appid, mchid or order do not match
)

// probePrefix starts the signatures WeChat Pay sends to check merchants
// really verify; they must be refused.
const probePrefix = "WECHATPAY/SIGNTEST/"

// Notifications serves WeChat Pay's payment and refund notifications.
type Notifications struct {
	s        *Service
	parser   NotifyParser
	rejected *prometheus.CounterVec
	log      *slog.Logger
}

// NewNotifications returns the handlers; the rejection counter
// siyu_wxpay_notifications_rejected_total{reason} is registered on reg.
func NewNotifications(s *Service, parser NotifyParser, reg prometheus.Registerer) *Notifications {
	n := &Notifications{
		s:      s,
		parser: parser,
		log:    s.log,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "siyu_wxpay_notifications_rejected_total",
			Help: "WeChat Pay notifications that changed nothing, by reason (forged, probe, stale, replay, mismatch).",
		}, []string{"reason"}),
	}
	for _, r := range []string{RejectForged, RejectProbe, RejectStale, RejectReplay, RejectMismatch} {
		n.rejected.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(n.rejected)
	}
	return n
}

// Rejected returns the counter, for tests.
func (n *Notifications) Rejected() *prometheus.CounterVec { return n.rejected }

// Transactions handles TRANSACTION.* notifications
// (POST /callbacks/wxpay/transactions).
func (n *Notifications) Transactions() http.Handler {
	return n.handler(func(ctx context.Context, r *http.Request) (int, string) {
		var tx wxpayments.Transaction
		req, bad := n.parse(r, &tx)
		if bad != "" {
			return n.refuse(bad, "notification refused")
		}
		if !strings.HasPrefix(req.EventType, "TRANSACTION.") {
			// Not ours to act on; acknowledge so it is not redelivered.
			return http.StatusNoContent, ""
		}
		_, err := n.s.applyTransaction(ctx, transactionOf(&tx), req.ID)
		return n.outcome(err, req.ID)
	})
}

// refundResource is the decrypted resource of a REFUND.* notification.
type refundResource struct {
	MchID        string `json:"mchid"`
	OutTradeNo   string `json:"out_trade_no"`
	RefundID     string `json:"refund_id"`
	OutRefundNo  string `json:"out_refund_no"`
	RefundStatus string `json:"refund_status"`
	Amount       struct {
		Total  int64 `json:"total"`
		Refund int64 `json:"refund"`
	} `json:"amount"`
}

// Refunds handles REFUND.* notifications (POST /callbacks/wxpay/refunds).
func (n *Notifications) Refunds() http.Handler {
	return n.handler(func(ctx context.Context, r *http.Request) (int, string) {
		var rf refundResource
		req, bad := n.parse(r, &rf)
		if bad != "" {
			return n.refuse(bad, "notification refused")
		}
		if !strings.HasPrefix(req.EventType, "REFUND.") {
			return http.StatusNoContent, ""
		}
		if rf.MchID != n.s.pay.MchID() {
			return n.refuse(RejectMismatch, "merchant does not match")
		}
		_, err := n.s.applyRefund(ctx, RefundResult{OutTradeNo: rf.OutTradeNo, OutRefundNo: rf.OutRefundNo, RefundID: rf.RefundID,
			Status: rf.RefundStatus, Amount: rf.Amount.Refund, Total: rf.Amount.Total}, req.ID)
		return n.outcome(err, req.ID)
	})
}

// handler reads the body (so it can be parsed twice), runs fn and answers
// as WeChat Pay documents: 204 without a body on success, otherwise the
// status with {"code":"FAIL","message":…}, which WeChat Pay retries.
func (n *Notifications) handler(fn func(ctx context.Context, r *http.Request) (int, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			fail(w, http.StatusMethodNotAllowed, "POST only")
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			fail(w, http.StatusBadRequest, "cannot read the body")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		status, msg := fn(r.Context(), r)
		if status == http.StatusNoContent || status == http.StatusOK {
			w.WriteHeader(status)
			return
		}
		fail(w, status, msg)
	})
}

func fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": "FAIL", "message": msg})
}

// parse classifies and verifies a notification, returning the reason to
// refuse it or "" with the verified envelope and content.
func (n *Notifications) parse(r *http.Request, content any) (*notify.Request, string) {
	if strings.HasPrefix(r.Header.Get("Wechatpay-Signature"), probePrefix) {
		return nil, RejectProbe
	}
	ts, err := strconv.ParseInt(r.Header.Get("Wechatpay-Timestamp"), 10, 64)
	if err == nil {
		// wechatpay-go refuses the same window, against time.Now; it is
		// checked here first so the metric can tell stale from forged.
		if d := time.Since(time.Unix(ts, 0)); d >= 5*time.Minute || d <= -5*time.Minute {
			return nil, RejectStale
		}
	}
	req, err := n.parser.ParseNotifyRequest(r.Context(), r, content)
	if err != nil {
		n.log.Warn("WeChat Pay notification failed verification", "err", err.Error()[:min(len(err.Error()), 300)])
		return nil, RejectForged
	}
	if req.ID == "" {
		return nil, RejectForged
	}
	return req, ""
}

// refuse counts a refusal and answers with its status: signature problems
// 401, a mismatch 400.
func (n *Notifications) refuse(reason, msg string) (int, string) {
	n.rejected.WithLabelValues(reason).Inc()
	if reason == RejectMismatch {
		return http.StatusBadRequest, msg
	}
	return http.StatusUnauthorized, msg
}

// outcome answers the result of applying a verified notification.
func (n *Notifications) outcome(err error, id string) (int, string) {
	switch {
	case err == nil:
		return http.StatusNoContent, ""
	case errors.Is(err, errReplay):
		// Already handled: acknowledge so WeChat Pay stops, change nothing.
		n.rejected.WithLabelValues(RejectReplay).Inc()
		return http.StatusNoContent, ""
	case errors.Is(err, ErrMismatch):
		n.log.Error("WeChat Pay notification does not match", "notification_id", id, "err", err)
		return n.refuse(RejectMismatch, "does not match the order")
	default:
		n.log.Error("WeChat Pay notification not applied; WeChat Pay will retry", "notification_id", id, "err", err)
		return http.StatusInternalServerError, "temporarily unable to process"
	}
}
